// Server-side sessions in Redis, stored only under the SHA-256 of their id: the
// id goes to the client once, from create(), and is never stored or logged, so
// a Redis dump cannot be replayed as cookies.
import { createHash, randomBytes } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { AuthMethodName, Identity } from '../../shared/auth-types.js';
import type { RedisClient } from '../../shared/redis.js';

export interface Session {
  /** The identity of the credential the session was made from (its method included). */
  readonly identity: Identity;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly absoluteExpiresAt: number;
  readonly idleSeconds: number;
}

export interface SessionLifetime {
  readonly idleSeconds: number;
  readonly absoluteSeconds: number;
}

const HASH = /^[0-9a-f]{64}$/;

// Extends a session only while it exists: a plain HSET after a revocation
// would bring back a half record. A script on one key: atomic, cluster-safe.
const TOUCH = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export class SessionStore {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(redis: RedisClient, prefix = 'gatehouse:') {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** The id is returned here only; expiresAt is the absolute expiry (ms epoch). */
  async create(identity: Identity, lifetime: SessionLifetime): Promise<{ id: string; expiresAt: number }> {
    const id = randomBytes(32).toString('base64url');
    const hash = hashSessionId(id);
    const now = Date.now();
    const absoluteMs = Math.ceil(lifetime.absoluteSeconds * 1000);
    const absoluteExpiresAt = now + absoluteMs;
    const index = this.#indexKey(identity.consumer);
    // Each MULTI below is on one key, so each is atomic; the pair is not. The
    // index is written first: if the session write fails, what is left is an
    // index entry naming nothing, never a live session revokeConsumer cannot
    // find. Scored by absolute expiry so every create prunes dead entries;
    // NX then GT gives the index the longest TTL of its sessions (GT alone
    // would never set one on a fresh key).
    await run(this.#redis.multi()
      .zadd(index, absoluteExpiresAt, hash)
      .zremrangebyscore(index, '-inf', now)
      .pexpire(index, absoluteMs, 'NX')
      .pexpire(index, absoluteMs, 'GT'));
    const key = this.#sessionKey(hash);
    await run(this.#redis.multi()
      .hset(key, {
        identity: JSON.stringify(identity), createdAt: now, lastSeenAt: now, absoluteExpiresAt, idleSeconds: lifetime.idleSeconds,
      })
      .pexpire(key, Math.min(Math.ceil(lifetime.idleSeconds * 1000), absoluteMs)));
    return { id, expiresAt: absoluteExpiresAt };
  }

  get(id: string): Promise<Session | undefined> {
    return this.getHash(hashSessionId(id));
  }

  /**
   * undefined when missing, damaged or expired. The timestamps are checked as
   * well as the TTL: a key restored from a dump, or touched by an edge whose
   * clock is off, must still not outlive them.
   */
  async getHash(hash: string): Promise<Session | undefined> {
    const session = parseSession(await this.#redis.hgetall(this.#sessionKey(hash)));
    if (!session) return undefined;
    const now = Date.now();
    if (now >= session.absoluteExpiresAt || now >= session.lastSeenAt + session.idleSeconds * 1000) return undefined;
    return session;
  }

  /**
   * Moves the idle expiry to now + idleSeconds, never past the absolute one.
   * Takes the hash (the method has it already); false when the session is gone.
   */
  async touch(hash: string, session: Session, now = Date.now()): Promise<boolean> {
    const ttl = Math.min(session.idleSeconds * 1000, session.absoluteExpiresAt - now);
    if (ttl <= 0) return false;
    return (await this.#redis.eval(TOUCH, 1, this.#sessionKey(hash), now, Math.ceil(ttl))) === 1;
  }

  revoke(id: string): Promise<boolean> {
    return this.revokeHash(hashSessionId(id));
  }

  /** false: no such session (or it expired). */
  async revokeHash(hash: string): Promise<boolean> {
    if (!HASH.test(hash)) return false;
    const key = this.#sessionKey(hash);
    const consumer = consumerOf(await this.#redis.hget(key, 'identity'));
    const removed = (await this.#redis.del(key)) === 1;
    // Only housekeeping: a stale index entry names nothing and is pruned later.
    if (consumer !== undefined) await this.#redis.zrem(this.#indexKey(consumer), hash);
    return removed;
  }

  /** How many live sessions were removed. One created concurrently may survive. */
  async revokeConsumer(consumer: string): Promise<number> {
    const index = this.#indexKey(consumer);
    const hashes = await this.#redis.zrange(index, 0, -1);
    if (hashes.length === 0) return 0;
    // Concurrent single-key DELs, not one pipeline: sessions live in different
    // slots, and a Cluster pipeline must stay in one.
    const deleted = await Promise.all(hashes.map((hash) => this.#redis.del(this.#sessionKey(hash))));
    const removed = deleted.reduce((n, d) => n + d, 0);
    // ZREM, not DEL: an entry added meanwhile stays revocable.
    await this.#redis.zrem(index, ...hashes);
    return removed;
  }

  // Hash tags keep each session, and each consumer's index, in its own slot.
  #sessionKey(hash: string): string {
    return `${this.#prefix}session:{${hash}}`;
  }

  #indexKey(consumer: string): string {
    return `${this.#prefix}sessions-of:{${consumer}}`;
  }
}

async function run(commands: ChainableCommander): Promise<unknown[]> {
  const replies = (await commands.exec()) ?? [];
  for (const [err] of replies) if (err) throw err;
  return replies.map(([, value]) => value);
}

function consumerOf(json: string | null): string | undefined {
  return json === null ? undefined : parseIdentity(json)?.consumer;
}

// Anything damaged reads as no session: fail closed.
function parseSession(fields: Record<string, string>): Session | undefined {
  const identity = parseIdentity(fields.identity);
  const [createdAt, lastSeenAt, absoluteExpiresAt, idleSeconds] =
    [fields.createdAt, fields.lastSeenAt, fields.absoluteExpiresAt, fields.idleSeconds].map(Number);
  if (!identity || ![createdAt, lastSeenAt, absoluteExpiresAt, idleSeconds].every(Number.isFinite)) return undefined;
  return { identity, createdAt: createdAt!, lastSeenAt: lastSeenAt!, absoluteExpiresAt: absoluteExpiresAt!, idleSeconds: idleSeconds! };
}

function parseIdentity(json: string | undefined): Identity | undefined {
  try {
    const v = JSON.parse(json ?? 'null') as Partial<Record<keyof Identity, unknown>> | null;
    if (v === null || typeof v !== 'object' || typeof v.consumer !== 'string' || typeof v.method !== 'string') return undefined;
    if (!isStrings(v.scopes) || !isStrings(v.roles) || v.claims === null || typeof v.claims !== 'object' || Array.isArray(v.claims)) return undefined;
    return {
      consumer: v.consumer, method: v.method as AuthMethodName, scopes: v.scopes, roles: v.roles,
      claims: v.claims as Record<string, unknown>, ...(typeof v.issuer === 'string' && { issuer: v.issuer }),
    };
  } catch {
    return undefined;
  }
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}
