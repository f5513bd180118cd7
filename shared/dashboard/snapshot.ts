// What one edge or router tells the dashboard about itself (GET /admin/snapshot): who it is, the config it
// runs, its routes and services with each instance as it sees it, and cumulative counts read from its own
// Prometheus registry. Counts, not rates: the page divides the difference of two snapshots by the time
// between them, so no instance keeps a window and any number of viewers costs the same.
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { ConfigStatus } from '../config/live.js';
import type { ConsulServiceConfig } from '../config/schema.js';
import type { InstanceStatus, UpstreamService } from '../discovery/upstream-service.js';
import type { AuthFailure, RecentAuthFailures } from '../metrics/recent-auth-failures.js';
import { buildFacts, type BuildFacts } from '../build-facts.js';

/** Counts by one label's values, e.g. { '2xx': 10, '5xx': 1 }. */
export type Counts = Record<string, number>;

export interface InstanceSnapshot {
  readonly instance: BuildFacts & { readonly id: string; readonly hostname: string; readonly ready: boolean };
  readonly config: Pick<ConfigStatus, 'version' | 'hash' | 'generation' | 'loadedAt' | 'lastError'> | null;
  /** Requests answered per route, by status class. */
  readonly routes: readonly { readonly name: string; readonly service: string; readonly requests: Counts }[];
  readonly services: readonly ServiceSnapshot[];
  /** Rate-limit decisions per policy, by outcome (the edge's; empty on a router). */
  readonly rateLimits: readonly { readonly policy: string; readonly decisions: Counts }[];
  readonly authFailures: { readonly byReason: Counts; readonly recent: readonly AuthFailure[] };
}

export interface ServiceSnapshot {
  readonly name: string;
  /** Where the service is discovered in Consul; null: a static list. */
  readonly consul: { readonly service: string; readonly tags: readonly string[]; readonly datacenter?: string } | null;
  readonly status: Record<string, unknown>;
  readonly instances: readonly (InstanceStatus & { readonly attempts: Counts })[];
}

export interface SnapshotSources {
  /** This tier instance's id among the snapshots, so one found twice (Consul and the peers list), or itself, is shown once. */
  readonly id: string;
  readonly tier: 'edge' | 'router';
  readonly registry: Registry;
  readonly authFailures: RecentAuthFailures;
  configStatus(): ConfigStatus | undefined;
  routes(): readonly { readonly name: string; readonly service: string }[];
  services(): readonly UpstreamService[];
  /** The Consul settings a service is discovered with, undefined for a static one. */
  consulOf(service: string): ConsulServiceConfig | undefined;
  ready(): boolean;
}

export async function instanceSnapshot(s: SnapshotSources): Promise<InstanceSnapshot> {
  const [requests, attempts, decisions, failures] = await Promise.all([
    countsOf(s.registry, 'gatehouse_requests_total', (l) => l.route, 'status_class'),
    countsOf(s.registry, 'gatehouse_upstream_attempts_total', (l) => `${l.service}\n${l.instance}`, 'outcome'),
    countsOf(s.registry, 'gatehouse_ratelimit_decisions_total', (l) => l.policy, 'outcome'),
    countsOf(s.registry, 'gatehouse_auth_failures_total', () => 'all', 'reason'),
  ]);
  const status = s.configStatus();
  return {
    instance: { ...buildFacts(s.tier), id: s.id, hostname: hostname(), ready: s.ready() },
    config: status ? { version: status.version, hash: status.hash, generation: status.generation, loadedAt: status.loadedAt, lastError: status.lastError } : null,
    routes: s.routes().map((r) => ({ name: r.name, service: r.service, requests: requests.get(r.name) ?? {} })),
    services: s.services().map((svc) => serviceSnapshot(svc, s.consulOf(svc.name), attempts)),
    rateLimits: [...decisions].map(([policy, counts]) => ({ policy, decisions: counts })),
    authFailures: { byReason: failures.get('all') ?? {}, recent: s.authFailures.list() },
  };
}

function serviceSnapshot(svc: UpstreamService, consul: ConsulServiceConfig | undefined, attempts: Map<string, Counts>): ServiceSnapshot {
  return {
    name: svc.name,
    consul: consul ? { service: consul.service, tags: consul.tags, ...(consul.datacenter !== undefined && { datacenter: consul.datacenter }) } : null,
    status: svc.status(),
    instances: svc.instanceStatus().map((i) => ({ ...i, attempts: attempts.get(`${svc.name}\n${i.id}`) ?? {} })),
  };
}

/**
 * A counter's values summed by a key made of its labels (service and instance together: instance ids are
 * unique within a service only), then by one label's values. A metric this tier lacks yields an empty map.
 */
async function countsOf(registry: Registry, metric: string, keyOf: (labels: Record<string, unknown>) => unknown, valueLabel: string): Promise<Map<string, Counts>> {
  const out = new Map<string, Counts>();
  const found = registry.getSingleMetric(metric);
  if (found === undefined) return out;
  for (const { labels, value } of (await found.get()).values) {
    const key = String(keyOf(labels));
    const counts = out.get(key) ?? {};
    const name = String(labels[valueLabel]);
    counts[name] = (counts[name] ?? 0) + value;
    out.set(key, counts);
  }
  return out;
}
