// Watches Consul for services that publish a route (meta gatehouse-route-prefix) and reports their claims:
// one blocking query on the catalog for which services carry the meta, and one on the passing instances of
// each of those. It only reports what services ask for; what they get is decided by shared/routing/published-routes.ts.
import { EventEmitter } from 'node:events';
import type Consul from 'consul';
import type { Logger } from 'pino';
import type { ConsulConfig } from '../config/schema.js';
import type { Instance } from './instance.js';
import type { PublishedClaim } from '../routing/published-routes.js';
import { ConsulSource } from './consul-source.js';
import { BlockingQuery } from './blocking-query.js';

export const META_PREFIX = 'gatehouse-route-prefix';
export const META_HOST = 'gatehouse-route-host';
export const META_PROFILE = 'gatehouse-profile';
export const META_STRIP_PREFIX = 'gatehouse-route-strip-prefix';

// Consul's filter language (checked on 1.16): "is not empty" is refused on a map value, and != "" alone is
// true for an instance without the key, so both the key and a value are asked for.
const CATALOG_FILTER = `${JSON.stringify(META_PREFIX)} in ServiceMeta and ServiceMeta[${JSON.stringify(META_PREFIX)}] != ""`;

export class PublishedRoutesSource extends BlockingQuery {
  /** The claims of the last report; undefined until every publishing service has been read once. */
  current: readonly PublishedClaim[] | undefined;
  private currentKey: string | undefined;
  private readonly services = new Map<string, ConsulSource>();
  private readonly ctx = Object.assign(new EventEmitter(), { includeResponse: true });
  /** Disagreements already logged, so each is logged once while it lasts. */
  private reported = new Set<string>();

  constructor(
    private readonly consul: Consul,
    private readonly settings: ConsulConfig,
    private readonly onChange: (claims: readonly PublishedClaim[]) => void,
    private readonly log: Logger,
  ) {
    super();
    void this.loop();
  }

  /** For the admin listener: how many services publish, and whether the catalog query is failing. */
  get status(): { readonly resolved: boolean; readonly services: number; readonly claims: number; readonly lastError?: string } {
    return {
      resolved: this.current !== undefined,
      services: this.services.size,
      claims: this.current?.length ?? 0,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  close(): void {
    this.closed = true;
    this.ctx.emit('cancel');
    for (const s of this.services.values()) s.close();
    this.services.clear();
  }

  protected override recovered(failures: number): void {
    this.log.info({ event: 'published-routes-consul-back', failures }, 'Consul answers again: published routes are current');
  }

  protected failed(message: string, failures: number): void {
    // Once per outage and then at growing intervals: never a line per retry.
    if ((failures & (failures - 1)) === 0) {
      this.log.warn({ event: 'published-routes-consul-error', failures, err: message }, 'Consul catalog query failed; keeping the published routes last seen');
    }
  }

  protected async poll(): Promise<void> {
    const waitS = this.settings.waitSeconds;
    const [res, body] = (await this.consul.catalog.service.list({
      filter: CATALOG_FILTER,
      stale: true,
      index: String(this.index),
      wait: `${waitS}s`,
      timeout: waitS * 1000 + 5_000,
      ctx: this.ctx,
      ...(this.settings.token && { token: this.settings.token }),
    } as never)) as unknown as [{ headers: Record<string, string> }, unknown];
    if (this.closed) return;
    const next = Number(res.headers['x-consul-index']);
    this.index = Number.isFinite(next) && next > 0 && next >= this.index ? next : 0;
    const names = new Set(body !== null && typeof body === 'object' ? Object.keys(body) : []);
    for (const [name, source] of this.services) {
      if (!names.has(name)) { source.close(); this.services.delete(name); }
    }
    for (const name of names) {
      if (this.services.has(name)) continue;
      this.services.set(name, new ConsulSource(
        this.consul, { service: name, tags: [] }, this.settings,
        () => this.report(),
        (message, failures) => {
          if ((failures & (failures - 1)) === 0) this.log.warn({ event: 'published-routes-consul-error', service: name, failures, err: message }, 'Consul health query failed; keeping the claim last seen');
          this.report(); // a service that never answered stops holding the others back
        },
      ));
    }
    this.report();
  }

  /** Reports the claims once every publishing service has answered, and only when they changed. */
  private report(): void {
    if (this.closed) return;
    const claims: PublishedClaim[] = [];
    const disagreements = new Set<string>();
    for (const [name, source] of this.services) {
      // Wait for a service's first answer, unless its query fails (an ACL that hides it): one such service
      // must not keep every other route unpublished.
      if (source.current === undefined) {
        if (source.status.lastError === undefined) return;
        continue;
      }
      const agreed = agreeOnClaim(name, source.current);
      if (agreed === undefined) continue;
      claims.push(agreed.claim);
      if (agreed.held < agreed.of) {
        const key = `${name}\0${JSON.stringify(agreed.claim)}\0${agreed.held}/${agreed.of}`;
        disagreements.add(key);
        if (!this.reported.has(key)) {
          this.log.warn(
            { event: 'published-route-disagreement', service: name, chosen: agreed.claim, held: agreed.held, of: agreed.of },
            `instances of ${name} publish different routes; using the one held by ${agreed.held} of ${agreed.of}`,
          );
        }
      }
    }
    this.reported = disagreements;
    claims.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
    const key = JSON.stringify(claims);
    if (key === this.currentKey) return;
    this.currentKey = key;
    this.current = Object.freeze(claims);
    this.onChange(this.current);
  }
}

export interface AgreedClaim {
  readonly claim: PublishedClaim;
  /** How many passing instances hold this claim, of how many that publish one. */
  readonly held: number;
  readonly of: number;
}

/**
 * One claim for a service whose instances may disagree (a rolling deploy changing the meta): the one held by
 * the most passing instances, a tie going to the smallest in code-unit order, so every gateway instance picks
 * the same. Instances without gatehouse-route-prefix abstain; with none publishing, the service claims nothing.
 */
export function agreeOnClaim(service: string, instances: readonly Pick<Instance, 'meta'>[]): AgreedClaim | undefined {
  const votes = new Map<string, { claim: PublishedClaim; n: number }>();
  let of = 0;
  for (const { meta } of instances) {
    const prefix = meta?.[META_PREFIX];
    if (prefix === undefined || prefix === '') continue;
    of++;
    const claim: PublishedClaim = {
      service, prefix,
      ...(meta?.[META_HOST] && { host: meta[META_HOST] }),
      ...(meta?.[META_PROFILE] && { profile: meta[META_PROFILE] }),
      ...(meta?.[META_STRIP_PREFIX] && { stripPrefix: meta[META_STRIP_PREFIX] }),
    };
    const key = JSON.stringify([claim.prefix, claim.host ?? null, claim.profile ?? null, claim.stripPrefix ?? null]);
    const vote = votes.get(key) ?? { claim, n: 0 };
    vote.n++;
    votes.set(key, vote);
  }
  let best: [string, { claim: PublishedClaim; n: number }] | undefined;
  for (const entry of votes) {
    if (best === undefined || entry[1].n > best[1].n || (entry[1].n === best[1].n && entry[0] < best[0])) best = entry;
  }
  return best && { claim: best[1].claim, held: best[1].n, of };
}
