// A counter family whose counts are plain numbers the hot path increments in
// place; prom-client sees them only when /metrics is scraped. Its own children
// hash their label values and allocate on every inc (about 100 ns each,
// bench/metrics-cost.ts); a row here is one array index. Rows must only be
// made from bounded label values (config names, discovery ids), never a request's.
import { Counter, type Registry } from 'prom-client';

/** One series per value of the closed label (or one series when there is none), for one set of the other labels. */
export interface CountRow {
  readonly values: readonly string[];
  /** Indexed by the closed label's position in its value list. */
  readonly counts: Float64Array;
}

export interface CountedCounterOptions {
  readonly name: string;
  readonly help: string;
  /** The labels whose values each row fixes (bounded by config or discovery). */
  readonly labelNames: readonly string[];
  /** The last label, from a closed list: each row counts every value of it. */
  readonly closed?: { readonly name: string; readonly values: readonly string[] };
  /** Runs first at each scrape: where gone rows are dropped (an instance discovery no longer lists). */
  readonly beforeScrape?: () => void;
}

export class CountedCounter {
  private readonly rows = new Set<CountRow>();
  private readonly width: number;

  constructor(registry: Registry, o: CountedCounterOptions) {
    const rows = this.rows;
    const closed = o.closed;
    this.width = closed?.values.length ?? 1;
    const names = closed === undefined ? o.labelNames : [...o.labelNames, closed.name];
    new Counter({
      name: o.name, help: o.help, labelNames: names, registers: [registry],
      collect() {
        o.beforeScrape?.();
        this.reset();
        for (const row of rows) {
          for (let i = 0; i < row.counts.length; i++) {
            // Only what happened: an instance that never timed out shows no timeout series.
            if (row.counts[i] === 0 && closed !== undefined) continue;
            const labels: Record<string, string> = {};
            row.values.forEach((v, n) => { labels[names[n]!] = v; });
            if (closed !== undefined) labels[closed.name] = closed.values[i]!;
            this.inc(labels, row.counts[i]);
          }
        }
      },
    });
  }

  /** A new row for these label values (one per name in labelNames); the caller keeps it and increments its counts. */
  row(...values: string[]): CountRow {
    const row: CountRow = { values, counts: new Float64Array(this.width) };
    this.rows.add(row);
    return row;
  }

  /** Its series leave the next scrape; increments through a kept reference are lost, never an error. */
  drop(row: CountRow): void {
    this.rows.delete(row);
  }
}

/** One series of a CountedHistogram: counts per bucket (the last one past every bound), their sum and count. */
export class HistogramRow {
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly values: readonly string[], private readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.buckets[i]!++;
    this.sum += value;
    this.count++;
  }
}

export interface CountedHistogramOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** Upper bounds, ascending, in the unit of the name (seconds). */
  readonly buckets: readonly number[];
}

/**
 * A histogram family kept the same way: an observation is a few compares and three increments on a row the
 * caller holds. prom-client's own child allocated on each observe (about 400 bytes a request in a heap
 * profile, bench/alloc-profile.ts). It is registered as a metric of its own kind, giving prom-client at
 * scrape time the series its Histogram would (cumulative _bucket with le, _sum, _count).
 */
export class CountedHistogram {
  private readonly rows = new Set<HistogramRow>();
  private readonly bounds: readonly number[];

  constructor(registry: Registry, o: CountedHistogramOptions) {
    this.bounds = [...o.buckets];
    const rows = this.rows;
    const les = [...this.bounds.map(String), '+Inf'];
    const { name, help, labelNames } = o;
    const view = () => ({
      name, help, type: 'histogram', aggregator: 'sum',
      values: [...rows].flatMap((row) => {
        const labels: Record<string, string> = {};
        row.values.forEach((v, n) => { labels[labelNames[n]!] = v; });
        let cumulative = 0;
        return [
          ...les.map((le, i) => {
            cumulative += row.buckets[i]!;
            return { labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` };
          }),
          { labels, value: row.sum, metricName: `${name}_sum` },
          { labels, value: row.count, metricName: `${name}_count` },
        ];
      }),
    });
    registry.registerMetric({ name, help, get: async () => view(), reset: () => undefined } as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** A new series for these label values (one per name in labelNames); the caller keeps it and observes into it. */
  row(...values: string[]): HistogramRow {
    const row = new HistogramRow(values, this.bounds);
    this.rows.add(row);
    return row;
  }
}
