// The services a tier sends traffic to, each with its instance source and
// balancer, built once from config. Per request a tier asks only pick().
// A reload updates it in place: a service whose definition did not change
// keeps its instances, balancer, outlier, breaker and retry state.
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import Consul from 'consul';
import type { Logger } from 'pino';
import type { ConsulConfig, ServiceConfig } from '../config/schema.js';
import type { InstanceSource, SourceStatus } from './instance.js';
import { StaticSource } from './static-source.js';
import { ConsulSource } from './consul-source.js';
import { createBalancer } from '../balancer/index.js';
import { UpstreamService } from './upstream-service.js';
import { Snapshot } from './snapshot.js';
import type { UpstreamMetrics } from '../metrics/upstream.js';

export interface DirectoryStatus {
  readonly ready: boolean;
  readonly services: Readonly<Record<string, SourceStatus>>;
}

/** The services of one config generation: a request keeps the view it started with. */
export interface ServiceLookup {
  service(name: string): UpstreamService | undefined;
}

export class ServiceDirectory implements ServiceLookup {
  private entries = new Map<string, UpstreamService>();
  private readonly configs = new Map<string, ServiceConfig>();
  private readonly consulConfig: ConsulConfig | undefined;
  private consul: Consul | undefined;
  private readonly snapshot: Snapshot | undefined;

  /** metrics: the tier's upstream attempt metrics; their instance series follow what this directory lists. */
  constructor(services: Readonly<Record<string, ServiceConfig>>, consulConfig: ConsulConfig | undefined, private readonly log: Logger, tier: 'edge' | 'router' = 'router', private readonly metrics?: UpstreamMetrics) {
    metrics?.listInstancesWith((name) => this.entries.get(name)?.source);
    this.snapshot = consulConfig?.snapshotDir
      ? new Snapshot(join(consulConfig.snapshotDir, `${tier}-discovery.json`), consulConfig.snapshotMaxAgeSeconds * 1000, log)
      : undefined;
    this.consulConfig = consulConfig;
    this.update(services);
  }

  /**
   * Takes a new set of services: unchanged ones are kept as they are, changed or new ones start afresh, and
   * the sources of the rest stop watching. Returns the view for the generation built with this set; views
   * handed out before stay usable (a service that left keeps its last instances for requests in flight).
   */
  update(services: Readonly<Record<string, ServiceConfig>>): ServiceLookup {
    const next = new Map<string, UpstreamService>();
    for (const [name, svc] of Object.entries(services)) {
      const kept = this.entries.get(name);
      const was = this.configs.get(name);
      if (kept !== undefined && isDeepStrictEqual(was, svc)) next.set(name, kept);
      // Same instances, other policies (balancer, breaker...): the source and what it knows carry over.
      else if (kept !== undefined && isDeepStrictEqual(was?.consul, svc.consul) && isDeepStrictEqual(was?.static, svc.static)) next.set(name, new UpstreamService(name, kept.source, createBalancer(svc.balancer), svc, this.metrics?.service(name)));
      else next.set(name, new UpstreamService(name, this.sourceFor(name, svc, this.consulConfig), createBalancer(svc.balancer), svc, this.metrics?.service(name)));
      this.configs.set(name, svc);
    }
    for (const [name, old] of this.entries) {
      if (next.get(name)?.source !== old.source) old.source.close();
      if (!next.has(name)) this.configs.delete(name);
    }
    this.entries = next;
    return { service: (name) => next.get(name) };
  }

  /** Resolves once every service has had its first answer (or timeoutMs passed): a reload waits so a new service's first requests find instances. */
  async resolved(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.entries.values()].some((e) => !e.source.status.resolved)) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** The service by name; undefined only for a name the config never defined. */
  service(name: string): UpstreamService | undefined {
    return this.entries.get(name);
  }

  /** The services of the current config, for the admin API. */
  services(): readonly UpstreamService[] {
    return [...this.entries.values()];
  }

  status(): DirectoryStatus {
    const services: Record<string, SourceStatus> = {};
    let ready = true;
    for (const [name, e] of this.entries) {
      services[name] = e.status() as unknown as SourceStatus;
      if (!e.source.status.resolved) ready = false;
    }
    return { ready, services };
  }

  close(): void {
    this.snapshot?.flush();
    for (const e of this.entries.values()) e.source.close();
    this.consul?.destroy();
  }

  private sourceFor(name: string, svc: ServiceConfig, consulConfig: ConsulConfig | undefined): InstanceSource {
    if (svc.static) return new StaticSource(svc.static);
    if (!svc.consul || !consulConfig) throw new Error(`service ${name}: no instance source`); // load.ts rules this out
    this.consul ??= consulClient(consulConfig);
    return new ConsulSource(
      this.consul,
      svc.consul,
      consulConfig,
      (instances) => {
        this.log.info({ event: 'discovery-change', service: name, instances: instances.map((i) => i.origin) }, 'service instances changed');
        this.snapshot?.record(name, instances);
      },
      (message, failures) => {
        // Once per outage and then at growing intervals: never a line per retry.
        if ((failures & (failures - 1)) === 0) this.log.warn({ event: 'discovery-error', service: name, failures, err: message }, 'Consul query failed; serving last known instances');
      },
      // Once while the instance stays bad: ConsulSource reports only what the previous answer did not have.
      ({ id, field, value, action }) => this.log.warn(
        { event: action === 'skipped' ? 'discovery-instance-skipped' : 'discovery-weight-ignored', service: name, instance: id, field, value },
        action === 'skipped' ? `instance ${id} of ${name} skipped: ${field} is not valid` : `instance ${id} of ${name}: ${field} is not a weight, Consul's weight used`,
      ),
      this.snapshot?.seed(name),
    );
  }
}

export function consulClient(config: Pick<ConsulConfig, 'address' | 'token'>): Consul {
  const url = new URL(config.address);
  return new Consul({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    secure: url.protocol === 'https:',
    ...(config.token && { defaults: { token: config.token } }),
  });
}
