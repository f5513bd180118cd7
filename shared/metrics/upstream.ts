// Upstream attempts of a tier (the edge's go to its routers, the router's to
// backends): counted by service, instance and outcome, timed by service, and
// retries by service. The instance label is discovery's id, so its series are
// dropped at scrape time once discovery no longer lists the instance: churn
// never grows them. Per attempt, only an array index and one histogram child.
import type { Registry } from 'prom-client';
import type { Instance } from '../discovery/instance.js';
import type { GatewayError } from '../errors.js';
import { CountedCounter, CountedHistogram, type CountRow } from './counts.js';

/**
 * What became of an attempt, a closed set: ok (answered below 500), 5xx (answered 500-599), timeout (no
 * answer in time), connect_error (no connection), reset (the connection broke before the answer), aborted
 * (cut by the gateway or the client, or the client's body failed), and two attempts the gateway refused
 * without sending: breaker_open (the instance's circuit) and overloaded (maxConcurrent or maxPending).
 */
export const ATTEMPT_OUTCOMES = ['ok', '5xx', 'timeout', 'connect_error', 'reset', 'aborted', 'breaker_open', 'overloaded'] as const;
export const Attempt = { ok: 0, error5xx: 1, timeout: 2, connectError: 3, reset: 4, aborted: 5, breakerOpen: 6, overloaded: 7 } as const;
export type AttemptOutcomeIndex = typeof Attempt[keyof typeof Attempt];

/** The same spread as request durations (requests.ts): an attempt is most of its request. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Where a service's instances are listed now; undefined: the service left the config. */
export type ListedInstances = (service: string) => { readonly current: readonly Instance[] | undefined } | undefined;

/** What one service's attempts are recorded into, kept across reloads of the service (one per name). */
export class ServiceAttempts {
  private readonly byInstance = new Map<string, CountRow>();
  private readonly retryRow: CountRow;

  constructor(readonly name: string, private readonly tier: UpstreamMetrics, private readonly seconds: { observe(value: number): void }) {
    this.retryRow = tier.retries.row(name);
  }

  /** An attempt sent to the instance, answered or failed after `seconds`. */
  attempt(instanceId: string, outcome: AttemptOutcomeIndex, seconds: number): void {
    this.rowOf(instanceId).counts[outcome]!++;
    this.seconds.observe(seconds);
  }

  /** An attempt the gateway did not send (breaker_open, overloaded): counted, not timed. */
  refused(instanceId: string, outcome: AttemptOutcomeIndex): void {
    this.rowOf(instanceId).counts[outcome]!++;
  }

  retried(): void {
    this.retryRow.counts[0]!++;
  }

  private rowOf(instanceId: string): CountRow {
    let row = this.byInstance.get(instanceId);
    if (row === undefined) {
      row = this.tier.attempts.row(this.name, instanceId);
      this.byInstance.set(instanceId, row);
    }
    return row;
  }

  /**
   * Drops the rows of instances not in `listed` (all of them when undefined). An attempt still in flight on
   * one makes it again, to be dropped at the next scrape: counts restart, memory does not grow.
   */
  keepOnly(listed: ReadonlySet<string> | undefined): void {
    for (const [id, row] of this.byInstance) {
      if (listed?.has(id) === true) continue;
      this.tier.attempts.drop(row);
      this.byInstance.delete(id);
    }
  }
}

export class UpstreamMetrics {
  readonly attempts: CountedCounter;
  readonly retries: CountedCounter;
  private readonly seconds: CountedHistogram;
  private readonly services = new Map<string, ServiceAttempts>();
  private listed: ListedInstances = () => undefined;

  constructor(registry: Registry) {
    this.attempts = new CountedCounter(registry, {
      name: 'gatehouse_upstream_attempts_total',
      help: 'Attempts to reach an upstream instance (a router at the edge, a backend at the router), by service, instance id and outcome.',
      labelNames: ['service', 'instance'],
      closed: { name: 'outcome', values: ATTEMPT_OUTCOMES },
      beforeScrape: () => this.pruneUnlisted(),
    });
    this.retries = new CountedCounter(registry, {
      name: 'gatehouse_upstream_retries_total', help: 'Attempts that were retries of a failed one (a connect failure, a reset, or a 502-504), by service.', labelNames: ['service'],
    });
    this.seconds = new CountedHistogram(registry, {
      name: 'gatehouse_upstream_attempt_duration_seconds', help: 'Time from sending an attempt to its response head, or to its failure, by service.',
      labelNames: ['service'], buckets: BUCKETS,
    });
  }

  /** The service directory says where instances are listed (it calls this once, when built). */
  listInstancesWith(listed: ListedInstances): void {
    this.listed = listed;
  }

  /** The recorder of a service by name: the same one for every UpstreamService a reload builds under that name. */
  service(name: string): ServiceAttempts {
    let s = this.services.get(name);
    if (s === undefined) {
      s = new ServiceAttempts(name, this, this.seconds.row(name));
      this.services.set(name, s);
    }
    return s;
  }

  /**
   * At scrape time: instances discovery no longer lists lose their series (all of a service the config
   * dropped). A service's retries and durations stay: its name comes from config, and a service a reload
   * removes keeps its last counts, as a removed route's request counts do.
   */
  private pruneUnlisted(): void {
    for (const [name, s] of this.services) {
      const current = this.listed(name)?.current;
      s.keepOnly(current === undefined ? undefined : new Set(current.map((i) => i.id)));
    }
  }
}

/** The outcome of an attempt that failed without an answer, from what forward() threw. */
export function failedAttempt(err: Pick<GatewayError, 'failure' | 'code'>): AttemptOutcomeIndex {
  switch (err.failure) {
    case 'connect-failure': return Attempt.connectError;
    case 'reset': return Attempt.reset;
    case 'status-504': return Attempt.timeout;
    default: return err.code === 'upstream_timeout' ? Attempt.timeout : Attempt.aborted;
  }
}
