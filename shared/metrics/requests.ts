// Counts every request a tier answered, at the one place both tiers write
// their access line. Must never take a label value from the request itself
// beyond a bounded set: route names come from config, methods and status
// classes from fixed lists, so random paths or tokens add no series.
import { Counter, type Registry } from 'prom-client';
import { CountedCounter, CountedHistogram, type CountRow } from './counts.js';

/** "none": the request matched no route (a 404, or refused before routing). */
export const NO_ROUTE = 'none';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'other'] as const;
const OTHER_METHOD = METHODS.length - 1;
/** Index = status / 100: "none" when no status was sent (the exchange broke off first). */
const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Gateway latency spans sub-millisecond refusals to slow upstreams. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Series {
  /** The route and method's row, indexed by status class. */
  readonly count: CountRow;
  readonly duration: { observe(value: number): void };
}

/**
 * The rows (counts.ts: plain numbers prom-client reads at scrape time) are made on a route's first request
 * of each method and status class and kept: a request indexes an array and increments numbers, no label
 * object, hash string or closure is made.
 */
export class RequestMetrics {
  private readonly total: CountedCounter;
  private readonly seconds: CountedHistogram;
  private readonly countRows = new Map<string, CountRow>();
  private readonly authFailures: Counter<'reason'>;
  private readonly byRoute = new Map<string, (Series | undefined)[]>();
  private readonly byReason = new Map<string, { inc(): void }>();

  constructor(registry: Registry) {
    this.total = new CountedCounter(registry, {
      name: 'gatehouse_requests_total', help: 'Requests answered, by route name, method and status class.',
      labelNames: ['route', 'method'], closed: { name: 'status_class', values: STATUS_CLASSES },
    });
    this.seconds = new CountedHistogram(registry, {
      name: 'gatehouse_request_duration_seconds', help: 'Time from the request arriving to its response closing.',
      labelNames: ['route', 'method', 'status_class'], buckets: BUCKETS,
    });
    this.authFailures = new Counter({
      name: 'gatehouse_auth_failures_total', help: 'Requests refused with 401 or 403, by reason (an RFC 6750 error code, no_credential, authz:<rule kind> at the router, unauthorized or forbidden).', labelNames: ['reason'], registers: [registry],
    });
  }

  /**
   * route: the matched route's name (undefined: none matched); status 0: none was sent; authFailure: why a 401 or
   * 403 was replied, from a closed set (an RFC 6750 code, 'no_credential' or the ErrorCode), never free text.
   */
  record(route: string | undefined, method: string | undefined, status: number, seconds: number, authFailure: string | undefined): void {
    const name = route ?? NO_ROUTE;
    let slots = this.byRoute.get(name);
    if (slots === undefined) {
      slots = new Array<Series | undefined>(METHODS.length * STATUS_CLASSES.length);
      this.byRoute.set(name, slots);
    }
    const statusClass = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
    const slot = methodIndex(method) * STATUS_CLASSES.length + statusClass;
    const series = slots[slot] ?? (slots[slot] = this.seriesOf(name, slot));
    series.count.counts[statusClass]!++;
    series.duration.observe(seconds);
    if (status === 401 || status === 403) this.countAuthFailure(authFailure ?? (status === 401 ? 'unauthorized' : 'forbidden'));
  }

  private seriesOf(route: string, slot: number): Series {
    const method = METHODS[(slot / STATUS_CLASSES.length) | 0]!;
    const statusClass = STATUS_CLASSES[slot % STATUS_CLASSES.length]!;
    const key = `${route}\n${method}`;
    let count = this.countRows.get(key);
    if (count === undefined) {
      count = this.total.row(route, method);
      this.countRows.set(key, count);
    }
    return { count, duration: this.seconds.row(route, method, statusClass) };
  }

  private countAuthFailure(reason: string): void {
    let child = this.byReason.get(reason);
    if (child === undefined) {
      child = this.authFailures.labels(reason);
      this.byReason.set(reason, child);
    }
    child.inc();
  }
}

/** Clients may send any token as a method: only the standard ones get a label of their own. */
function methodIndex(method: string | undefined): number {
  switch (method) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    case 'PATCH': return 5;
    case 'OPTIONS': return 6;
    case 'CONNECT': return 7;
    case 'TRACE': return 8;
    default: return OTHER_METHOD;
  }
}
