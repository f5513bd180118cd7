// Gauges read at scrape time from the status objects the tiers already keep
// (the service directory, the Redis client, the live config): nothing here
// runs per request, and nothing is stored between scrapes.
import { Gauge, type Registry } from 'prom-client';
import type { DirectoryStatus } from '../discovery/directory.js';
import type { ReadinessCheck } from '../admin.js';
import type { ConfigStatus } from '../config/live.js';

/** What an upstream service's status() adds to its source's (shared/discovery/upstream-service.ts). */
interface ServiceState {
  readonly kind?: string;
  readonly resolved?: boolean;
  readonly instances?: number;
  readonly lastChangeAt?: string;
  readonly openCircuits?: readonly string[];
  readonly ejected?: number;
}

/** A gauge per service, rebuilt from status() at each scrape: a service a reload removed leaves no stale series. */
function serviceGauge(registry: Registry, name: string, help: string, status: () => DirectoryStatus, value: (s: ServiceState) => number | undefined): void {
  new Gauge({
    name, help, labelNames: ['service'], registers: [registry],
    collect() {
      this.reset();
      for (const [service, s] of Object.entries(status().services)) {
        const v = value(s as ServiceState);
        if (v !== undefined) this.labels(service).set(v);
      }
    },
  });
}

/** Discovery, breaker and outlier state of every service a tier watches (the edge's one is its routers). */
export function discoveryMetrics(registry: Registry, status: () => DirectoryStatus): void {
  serviceGauge(registry, 'gatehouse_discovery_resolved', 'Whether the service\'s instance source has answered (1) or not yet (0).', status, (s) => (s.resolved ? 1 : 0));
  serviceGauge(registry, 'gatehouse_discovery_instances', 'Instances the service\'s source lists now.', status, (s) => s.instances);
  serviceGauge(registry, 'gatehouse_discovery_last_change_age_seconds', 'Seconds since the Consul watch last changed the service\'s instances (Consul services only).', status,
    (s) => (s.lastChangeAt === undefined ? undefined : Math.max(0, (Date.now() - Date.parse(s.lastChangeAt)) / 1000)));
  serviceGauge(registry, 'gatehouse_circuit_open_instances', 'Instances of the service whose circuit breaker is open or half-open.', status, (s) => s.openCircuits?.length);
  serviceGauge(registry, 'gatehouse_outlier_ejected_instances', 'Instances of the service ejected by outlier detection now.', status, (s) => s.ejected);
}

/** 1 once the edge's Redis connection is ready, 0 while it is away. */
export function redisMetrics(registry: Registry, check: () => ReadinessCheck): void {
  new Gauge({
    name: 'gatehouse_redis_up', help: 'Whether the Redis connection is ready (1) or not (0).', registers: [registry],
    collect() { this.set(check().ok ? 1 : 0); },
  });
}

/** The live config's status (shared/config/live.ts): which document serves, and how reloads went. */
export function configMetrics(registry: Registry, status: () => ConfigStatus): void {
  const gauge = (name: string, help: string, value: (s: ConfigStatus) => number) => new Gauge({
    name, help, registers: [registry], collect() { this.set(value(status())); },
  });
  gauge('gatehouse_config_version', 'Version of the serving config document: its Consul ModifyIndex, or the generation for a file.', (s) => s.version);
  gauge('gatehouse_config_generation', 'Configs this process has applied, the first included (reloads applied = generation - 1).', (s) => s.generation);
  gauge('gatehouse_config_loaded_timestamp_seconds', 'When the serving config was applied (Unix time).', (s) => Date.parse(s.loadedAt) / 1000);
  gauge('gatehouse_config_last_reload_failed', 'Whether the last candidate config was refused (1) since the last one applied.', (s) => (s.lastError === null ? 0 : 1));
}
