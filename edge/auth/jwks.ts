// A remote JWKS kept in memory for JWT verification. Hand-written around
// jose's local key set because jose's remote set drops its keys when a
// refresh fails; here the last good keys keep serving until maxStale, an
// unknown kid triggers at most one fetch per cooldown (shared by every
// concurrent request), and nothing the token says is used to build a URL.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose';
import { request } from 'undici';
import type { Logger } from 'pino';

export interface JwksSettings {
  readonly cooldownMs: number;
  readonly maxAgeMs: number;
  readonly maxStaleMs: number;
  readonly timeoutMs: number;
}

const MAX_JWKS_BYTES = 512 * 1024;

export class RemoteJwks {
  private keys: ReturnType<typeof createLocalJWKSet> | undefined;
  private fetchedAt = 0;
  private lastAttemptAt = 0;
  private pending: Promise<void> | undefined;
  /** Fetches made, for readiness details and tests. */
  fetches = 0;

  constructor(private readonly url: string, private readonly settings: JwksSettings, private readonly log: Logger) {
    void this.refresh();
  }

  readonly getKey: JWTVerifyGetKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const now = Date.now();
    if (this.keys === undefined || now - this.fetchedAt > this.settings.maxAgeMs) await this.refreshIfCool(now);
    if (this.keys !== undefined && Date.now() - this.fetchedAt > this.settings.maxStaleMs) this.keys = undefined;
    if (this.keys === undefined) throw new errors.JWKSNoMatchingKey('no usable JWKS (fetch failed and no keys are cached)');
    try {
      return await this.keys(header, token);
    } catch (err) {
      // Rotation: a new kid may have been published since the last fetch.
      if (!(err instanceof errors.JWKSNoMatchingKey) || !(await this.refreshIfCool(Date.now()))) throw err;
      return await this.keys(header, token);
    }
  };

  status(): { url: string; ageSeconds: number | undefined; fetches: number } {
    return { url: this.url, ageSeconds: this.keys ? Math.round((Date.now() - this.fetchedAt) / 1000) : undefined, fetches: this.fetches };
  }

  /** Waits for a refresh if one is running or the cooldown has passed; says whether one ran. */
  private async refreshIfCool(now: number): Promise<boolean> {
    if (this.pending !== undefined) {
      await this.pending;
      return true;
    }
    if (now - this.lastAttemptAt < this.settings.cooldownMs) return false;
    await this.refresh();
    return true;
  }

  private refresh(): Promise<void> {
    this.lastAttemptAt = Date.now();
    this.fetches++;
    this.pending = this.fetchKeys()
      .then((jwks) => {
        this.keys = createLocalJWKSet(jwks);
        this.fetchedAt = Date.now();
      })
      .catch((err: Error) => {
        const stale = this.keys !== undefined && Date.now() - this.fetchedAt > this.settings.maxStaleMs;
        if (stale) this.keys = undefined;
        this.log.warn({ event: 'jwks-fetch-failed', url: this.url, err: err.message, servingCachedKeys: this.keys !== undefined }, 'JWKS fetch failed');
      })
      .finally(() => { this.pending = undefined; });
    return this.pending;
  }

  private async fetchKeys(): Promise<JSONWebKeySet> {
    const res = await request(this.url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      headersTimeout: this.settings.timeoutMs,
      bodyTimeout: this.settings.timeoutMs,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`HTTP ${res.statusCode}`);
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_JWKS_BYTES) throw new Error(`JWKS larger than ${MAX_JWKS_BYTES} bytes`);
      chunks.push(chunk as Buffer);
    }
    const jwks = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONWebKeySet;
    if (!jwks || !Array.isArray(jwks.keys)) throw new Error('not a JWK set (no "keys" array)');
    return jwks;
  }
}
