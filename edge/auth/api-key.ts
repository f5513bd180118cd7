// The api-key auth method: a key from a header (or a configured query
// parameter) looked up by hash in the shared store. It never logs or forwards
// the key, and fails closed when the store cannot answer.
import type { GatewayRequest } from '../../shared/http/gateway-io.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ApiKeyAuthConfig } from './api-key-schema.js';
import { refused, type AuthMethod, type AuthMethodFactory, type AuthOutcome } from './method.js';
import { ApiKeyStore, hashApiKey, type ApiKeyRecord } from './api-key-store.js';
import { connectRedis } from '../../shared/redis.js';


const MAX_CACHED = 10_000;
const WARN_EVERY_MS = 10_000;
// Visible ASCII, 1 to 256 characters. Real keys are 46; anything else is
// refused without a Redis round trip, and whitespace is never trimmed away.
const PLAUSIBLE = /^[\x21-\x7e]{1,256}$/;
const MALFORMED = Object.freeze(refused('invalid_token', 'malformed api key'));
const UNKNOWN = Object.freeze(refused('invalid_token', 'unknown api key'));

interface Cached { readonly outcome: AuthOutcome; readonly until: number }

/** The api-key entry of edge/auth/registry.ts: keys live in Redis, so nothing is built without it. */
export const apiKeyFactory: AuthMethodFactory<ApiKeyAuthConfig> = (apiKey, { config, redis, log }) => {
  if (!redis || !config.redis) return undefined;
  // A subscribed connection can run nothing else: revocations get their own.
  const subscriber = connectRedis(config.redis, log, 'api-key revocations') as Redis;
  const method = createApiKeyMethod(apiKey, new ApiKeyStore(redis as Redis, config.redis.keyPrefix), subscriber, log);
  return {
    method,
    carriers: { headers: [{ name: apiKey.header }], cookies: [], queryParams: apiKey.queryParam ? [apiKey.queryParam] : [] },
    close: () => { method.close(); subscriber.disconnect(); },
  };
};

export function createApiKeyMethod(config: ApiKeyAuthConfig, store: ApiKeyStore, subscriber: Redis, log: Logger): AuthMethod & { close(): void } {
  // Keyed by hash, so the edge's memory never holds a key either.
  const cache = new Map<string, Cached>();
  // Bumped by every revocation message; a lookup that was in flight across
  // one is answered but not cached, so it cannot re-cache a revoked key.
  let revocations = 0;
  let lastWarn = -Infinity;

  const onMessage = (channel: string, hash: string) => {
    if (channel !== store.revokedChannel) return;
    revocations++;
    cache.delete(hash);
  };
  // (Re)subscribe on every ready: the connection may not be up yet, and
  // messages missed while it was down are covered by forgetting everything.
  const onReady = () => {
    cache.clear();
    subscriber.subscribe(store.revokedChannel).catch((err: Error) => warn(`subscribe failed: ${err.message}`));
  };
  subscriber.on('message', onMessage);
  subscriber.on('ready', onReady);
  if (subscriber.status === 'ready') onReady();

  function warn(message: string): void {
    const now = Date.now();
    if (now - lastWarn < WARN_EVERY_MS) return;
    lastWarn = now;
    log.warn({ event: 'api-key-store-down', err: message }, 'API key store unavailable; refusing API keys');
  }

  function credential(request: GatewayRequest): string | string[] | undefined {
    const fromHeader = request.headers[config.header];
    if (fromHeader !== undefined || config.queryParam === undefined) return fromHeader;
    const q = request.url.indexOf('?');
    if (q < 0) return undefined;
    const values = new URLSearchParams(request.url.slice(q + 1)).getAll(config.queryParam);
    return values.length > 1 ? values : values[0];
  }

  function remember(hash: string, outcome: AuthOutcome): void {
    if (config.cacheMs === 0) return;
    cache.delete(hash);
    // Map keeps insertion order, so the first key is the oldest entry.
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(hash, { outcome, until: Date.now() + config.cacheMs });
  }

  async function lookup(hash: string): Promise<AuthOutcome> {
    const before = revocations;
    let outcome: AuthOutcome;
    try {
      outcome = decide(await store.lookupHash(hash));
    } catch (err) {
      const message = (err as Error).message;
      warn(message);
      // Not cached: the next request asks Redis again.
      return refused('invalid_token', `api key store unavailable: ${message}`);
    }
    if (revocations === before) remember(hash, outcome);
    return outcome;
  }

  return {
    name: 'api-key',
    authenticate(request) {
      const key = credential(request);
      if (key === undefined) return undefined;
      if (typeof key !== 'string' || !PLAUSIBLE.test(key)) return MALFORMED;
      const hash = hashApiKey(key);
      const hit = cache.get(hash);
      if (hit && hit.until > Date.now()) return hit.outcome;
      return lookup(hash);
    },
    close() {
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      subscriber.unsubscribe(store.revokedChannel).catch(() => { /* the owner may have closed it already */ });
      cache.clear();
    },
  };
}

// Built once per lookup and shared by every request the cache answers, so frozen.
function decide(record: ApiKeyRecord | undefined): AuthOutcome {
  if (!record) return UNKNOWN;
  if (record.status !== 'active') return Object.freeze(refused('invalid_token', 'revoked api key', { consumer: record.consumer }));
  return Object.freeze({
    ok: true,
    identity: Object.freeze({
      consumer: record.consumer, method: 'api-key', scopes: Object.freeze([...record.scopes]), roles: Object.freeze([]),
      claims: Object.freeze({ keyId: record.id, labels: Object.freeze({ ...record.labels }) }),
    }),
  } as const);
}
