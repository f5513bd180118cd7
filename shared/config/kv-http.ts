// The few Consul KV calls the live config needs, over undici: a raw read that can block on an index, a key
// listing and transactions. Not the consul package: its HTTP client buffers a whole answer however large (a
// huge value could not be refused before it is all in memory) and reports a transaction that lost its
// check-and-set (409) like any failure. Never puts the ACL token in a message.
import { Pool } from 'undici';

/** Consul's default kv_max_value_size: no value we write may be larger, and none we read is believed if it is. */
export const MAX_VALUE_BYTES = 512 * 1024;
// Listings and transaction answers carry no document text; anything near this is not Consul talking.
const MAX_META_BYTES = 1024 * 1024;
const CALL_TIMEOUT_MS = 10_000;

/** Consul could not be reached, or answered with an error or something that is not its API. */
export class ConsulKvError extends Error {
  override name = 'ConsulKvError';
}

/** One key's value as Consul holds it; index is its ModifyIndex when it exists, else the KV table's index. */
export interface RawValue {
  readonly index: number;
  /** Absent when the key does not exist, or when the value is over the read limit (then oversize is set). */
  readonly value?: Buffer;
  /** The value's size in bytes, when it was over the limit and left unread. */
  readonly oversize?: number;
}

export type TxnOp =
  | { readonly KV: { readonly Verb: 'cas'; readonly Key: string; readonly Value: string; readonly Index: number } }
  | { readonly KV: { readonly Verb: 'set'; readonly Key: string; readonly Value: string } }
  | { readonly KV: { readonly Verb: 'delete'; readonly Key: string } };

/** Consul applies every operation of a transaction or none: a lost check-and-set rolls back the rest. */
export type TxnOutcome =
  | { readonly committed: true; /** One per operation that writes (deletes have none), in order. */ readonly modifyIndexes: readonly number[] }
  | { readonly committed: false; readonly errors: readonly string[] };

/** Consul's limit on operations in one transaction. */
export const TXN_MAX_OPS = 64;

export interface ReadOptions {
  /** A blocking query: Consul answers once the index moves past this, or after waitSeconds. */
  readonly index?: number;
  readonly waitSeconds?: number;
  readonly signal?: AbortSignal;
}

export class ConsulKvHttp {
  private readonly pool: Pool;
  private readonly origin: string;

  constructor(address: string, private readonly token: string | undefined) {
    this.origin = new URL(address).origin;
    // A watch holds one connection for its whole wait; the other calls must not queue behind it.
    this.pool = new Pool(this.origin, { connections: 4, pipelining: 1, connectTimeout: 5_000 });
  }

  /** The value of one key, read raw (no base64) so that the size limit applies to the text itself. */
  async get(key: string, options: ReadOptions = {}): Promise<RawValue> {
    const query = new URLSearchParams({ raw: 'true' });
    if (options.index !== undefined && options.index > 0) {
      query.set('index', String(options.index));
      query.set('wait', `${options.waitSeconds ?? 30}s`);
    }
    // Consul adds up to wait/16 of jitter to a blocking query's wait.
    const waitMs = query.has('wait') ? (options.waitSeconds ?? 30) * 1000 * 17 / 16 : 0;
    const res = await this.call('GET', `/v1/kv/${keyPath(key)}?${query}`, undefined, waitMs + CALL_TIMEOUT_MS, options.signal);
    if (res.statusCode !== 404) await this.expectOk(res, 'GET', key);
    const index = Number(res.headers['x-consul-index']);
    if (!Number.isSafeInteger(index) || index < 0) {
      await res.body.dump();
      throw new ConsulKvError(`${this.origin}: GET ${key}: no usable X-Consul-Index in the answer (${show(res.headers['x-consul-index'])}); is this Consul?`);
    }
    if (res.statusCode === 404) {
      await res.body.dump();
      return { index };
    }
    const declared = Number(res.headers['content-length']);
    if (declared > MAX_VALUE_BYTES) {
      res.body.destroy();
      return { index, oversize: declared };
    }
    const body = await readBounded(res.body, MAX_VALUE_BYTES);
    return typeof body === 'number' ? { index, oversize: body } : { index, value: body };
  }

  /** Every key under prefix (recursively). */
  async keys(prefix: string): Promise<string[]> {
    const res = await this.call('GET', `/v1/kv/${keyPath(prefix)}?keys=true`, undefined, CALL_TIMEOUT_MS);
    if (res.statusCode === 404) {
      await res.body.dump();
      return [];
    }
    await this.expectOk(res, 'GET', `${prefix}?keys`);
    const body = await this.json(res, `${prefix}?keys`);
    if (!Array.isArray(body) || !body.every((k) => typeof k === 'string')) throw new ConsulKvError(`${this.origin}: GET ${prefix}?keys: expected a list of key names, found ${show(body)}`);
    return body;
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnOutcome> {
    const res = await this.call('PUT', '/v1/txn', JSON.stringify(ops), CALL_TIMEOUT_MS);
    if (res.statusCode !== 200 && res.statusCode !== 409) await this.expectOk(res, 'PUT', 'txn');
    const body = await this.json(res, 'txn') as { Results?: unknown; Errors?: unknown } | null;
    if (res.statusCode === 409) {
      const errors = Array.isArray(body?.Errors) ? body.Errors.map((e: { What?: unknown }) => String(e?.What)) : [];
      return { committed: false, errors };
    }
    // A delete has no result; every other operation has one, with the entry it wrote.
    const results = Array.isArray(body?.Results) ? body.Results as { KV?: { ModifyIndex?: unknown } }[] : undefined;
    const modifyIndexes = results?.map((r) => Number(r?.KV?.ModifyIndex));
    const writes = ops.filter((op) => op.KV.Verb !== 'delete').length;
    if ((modifyIndexes?.length ?? 0) !== writes || !modifyIndexes?.every((i) => Number.isSafeInteger(i) && i > 0)) {
      throw new ConsulKvError(`${this.origin}: PUT txn: expected one result with a ModifyIndex per write, found ${show(body)}`);
    }
    return { committed: true, modifyIndexes };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private async call(method: 'GET' | 'PUT', path: string, body: string | undefined, timeoutMs: number, signal?: AbortSignal) {
    try {
      return await this.pool.request({
        method,
        path,
        headers: { ...(this.token && { 'x-consul-token': this.token }), ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(signal && { signal }),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      // undici's messages name the address and the cause, never the headers (where the token is).
      throw new ConsulKvError(`cannot reach Consul at ${this.origin}: ${(err as Error).message}`);
    }
  }

  private async expectOk(res: { statusCode: number; body: { text(): Promise<string> } }, method: string, what: string): Promise<void> {
    if (res.statusCode >= 200 && res.statusCode < 300) return;
    const text = await res.body.text().catch(() => '');
    const hint = res.statusCode === 403 ? ' (check consul.token or GATEHOUSE_CONSUL_TOKEN: the token needs key read/write on this key and its history)' : '';
    throw new ConsulKvError(`${this.origin}: ${method} ${what}: Consul answered ${res.statusCode} ${show(text.trim())}${hint}`);
  }

  private async json(res: { body: AsyncIterable<Buffer> & { destroy(): unknown } }, what: string): Promise<unknown> {
    const bytes = await readBounded(res.body, MAX_META_BYTES);
    if (typeof bytes === 'number') throw new ConsulKvError(`${this.origin}: ${what}: the answer is over ${MAX_META_BYTES} bytes`);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new ConsulKvError(`${this.origin}: ${what}: the answer is not JSON (${(err as Error).message})`);
    }
  }
}

/** The body, or its size so far once it passes limit (the rest is not read). */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(): unknown }, limit: number): Promise<Buffer | number> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      return size;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function keyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function show(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
