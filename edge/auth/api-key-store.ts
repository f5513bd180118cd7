// API keys in Redis, stored only as the SHA-256 of the key: the key itself is
// returned once by create() and is never stored, listed or logged. Lookup is by
// hash, so the secret is never compared byte by byte (no timing oracle).
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export type ApiKeyStatus = 'active' | 'revoked';

export interface ApiKeyRecord {
  /** Short, non-secret handle (first 12 hex chars of the hash) to list and revoke by. */
  readonly id: string;
  readonly consumer: string;
  readonly scopes: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly status: ApiKeyStatus;
  readonly createdAt: string;
}

export interface NewApiKey {
  readonly consumer: string;
  readonly scopes: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

const ID_LENGTH = 12;
const TOKEN = /^\S+$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export class ApiKeyStore {
  /** Every edge subscribes here; a message is the hash of a key just revoked. */
  readonly revokedChannel: string;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ids: string;

  constructor(redis: Redis, prefix = 'gatehouse:') {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ids = `${prefix}apikey-ids`;
    this.revokedChannel = `${prefix}apikey-revoked`;
  }

  async create(input: NewApiKey): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!TOKEN.test(input.consumer)) throw new Error('consumer must be a non-empty name without whitespace');
    const bad = input.scopes.find((s) => !TOKEN.test(s));
    if (bad !== undefined) throw new Error(`scope ${JSON.stringify(bad)} must be non-empty and without whitespace`);
    for (;;) {
      const key = `gh_${randomBytes(32).toString('base64url')}`;
      const hash = hashApiKey(key);
      const id = hash.slice(0, ID_LENGTH);
      // The index entry is written first: if the second write fails, what is
      // left is an id without a record (listed as nothing), never a working
      // key that nobody can list or revoke. HSETNX also catches the rare
      // collision of two 48-bit ids, in which case we draw another key.
      if (!(await this.#redis.hsetnx(this.#ids, id, hash))) continue;
      const record: ApiKeyRecord = {
        id, consumer: input.consumer, scopes: [...input.scopes], labels: { ...input.labels },
        status: 'active', createdAt: new Date().toISOString(),
      };
      await this.#redis.hset(this.#recordKey(hash), {
        id, consumer: record.consumer, scopes: record.scopes.join(' '), labels: JSON.stringify(record.labels),
        status: record.status, createdAt: record.createdAt,
      });
      return { key, record };
    }
  }

  lookup(key: string): Promise<ApiKeyRecord | undefined> {
    return this.lookupHash(hashApiKey(key));
  }

  /** For callers that already hashed the key (the edge keys its cache by hash). */
  async lookupHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return parseRecord(await this.#redis.hgetall(this.#recordKey(hash)));
  }

  async list(consumer?: string): Promise<ApiKeyRecord[]> {
    const hashes = Object.values(await this.#redis.hgetall(this.#ids));
    // One round trip for all records; each is a single-key command, so this
    // also works where keys live in different cluster slots.
    const pipeline = this.#redis.pipeline();
    for (const hash of hashes) pipeline.hgetall(this.#recordKey(hash));
    const replies = (await pipeline.exec()) ?? [];
    const records: ApiKeyRecord[] = [];
    for (const [err, fields] of replies) {
      if (err) throw err;
      const record = parseRecord(fields as Record<string, string>);
      if (record && (consumer === undefined || record.consumer === consumer)) records.push(record);
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** false: no key has this id. Revoking twice is harmless and answers true. */
  async revoke(id: string): Promise<boolean> {
    const hash = await this.#redis.hget(this.#ids, id);
    if (!hash) return false;
    const recordKey = this.#recordKey(hash);
    if (!(await this.#redis.exists(recordKey))) return false;
    await this.#redis.hset(recordKey, 'status', 'revoked');
    await this.#redis.publish(this.revokedChannel, hash);
    return true;
  }

  // The hash tag keeps the record in its own slot; no operation spans keys.
  #recordKey(hash: string): string {
    return `${this.#prefix}apikey:{${hash}}`;
  }
}

function parseRecord(fields: Record<string, string>): ApiKeyRecord | undefined {
  const { id, consumer, scopes, labels, status, createdAt } = fields;
  if (!id || !consumer || scopes === undefined || !createdAt) return undefined;
  return {
    id, consumer, createdAt,
    scopes: scopes.split(' ').filter(Boolean),
    labels: parseLabels(labels),
    // Anything but an explicit 'active' counts as revoked: fail closed on a damaged record.
    status: status === 'active' ? 'active' : 'revoked',
  };
}

function parseLabels(json: string | undefined): Record<string, string> {
  try {
    const value: unknown = JSON.parse(json ?? '{}');
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}
