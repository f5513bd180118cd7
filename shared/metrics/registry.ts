// One prom-client Registry per tier runtime, never the global default one:
// tests (and the embedded default) run several tiers in one process, and
// each tier's /metrics must say only what that tier saw.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { performance } from 'node:perf_hooks';
import { RequestMetrics } from './requests.js';
import { RecentAuthFailures } from './recent-auth-failures.js';
import { UpstreamMetrics } from './upstream.js';

export type TierName = 'edge' | 'router';

/** What a tier records into and what its admin listener serves. */
export interface TierMetrics {
  readonly registry: Registry;
  readonly requests: RequestMetrics;
  /** The last 401 and 403 answers, for the dashboard (not a metric: it names paths and clients). */
  readonly authFailures: RecentAuthFailures;
  /** Attempts to the tier's upstreams (routers at the edge, backends at the router); its ServiceDirectory records into it. */
  readonly upstream: UpstreamMetrics;
}

/**
 * Every series carries tier="edge" or tier="router" (a default label): one family per metric for both tiers,
 * so one query sums or compares them, and the tier stays visible wherever the series are relabelled.
 */
export function createTierMetrics(tier: TierName): TierMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ tier });
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  eventLoopUtilization(registry);
  return { registry, requests: new RequestMetrics(registry), authFailures: new RecentAuthFailures(), upstream: new UpstreamMetrics(registry) };
}

/** The share of time the loop was busy since the previous scrape (Node's own measure, read only at scrape time). */
function eventLoopUtilization(registry: Registry): void {
  let last = performance.eventLoopUtilization();
  new Gauge({
    name: 'gatehouse_event_loop_utilization_ratio',
    help: 'Share of wall time the event loop was busy since the previous scrape (0-1).',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, last).utilization);
      last = now;
    },
  });
}
