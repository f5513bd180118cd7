// Keeps one service's passing instances current with Consul blocking queries
// on the health API: one long-poll per service in use, stale reads allowed.
// Hand-written rather than the consul package's Watch because that one backs
// off without jitter and cannot say how stale its answer is; the HTTP calls
// themselves go through the consul client.
import { EventEmitter } from 'node:events';
import type Consul from 'consul';
import type { ConsulConfig } from '../config/schema.js';
import type { Instance, InstanceSource, SourceStatus } from './instance.js';
import { parseEntry, type InstanceProblem } from './consul-instance.js';
import { BlockingQuery, sleep } from './blocking-query.js';

export interface ConsulServiceQuery {
  readonly service: string;
  readonly tags: readonly string[];
  readonly datacenter?: string | undefined;
  readonly nodeMeta?: Readonly<Record<string, string>> | undefined;
}

/** Instances known before the first answer (from the on-disk snapshot), and when they were seen. */
export interface Seed {
  readonly instances: readonly Instance[];
  readonly savedAt: string;
}

// A list that turns empty is believed only when a second answer this much later agrees: one odd
// answer (a lagging server under stale reads, an agent that restarted) must not take a service
// that was serving to 503. A list that never had instances is not held.
const EMPTY_CONFIRM_MS = 1_000;

export class ConsulSource extends BlockingQuery implements InstanceSource {
  current: readonly Instance[] | undefined;
  /** What current holds, compared with each answer so that only a real change is reported. */
  private currentKey = '';
  private lastChangeAt: string | undefined;
  /** Where current came from until Consul answers: the snapshot, or nothing. */
  private origin: 'consul' | 'snapshot' = 'consul';
  /** An empty answer arrived while instances were known, and waits for a second one. */
  private emptyUnconfirmed = false;
  private readonly ctx = Object.assign(new EventEmitter(), { includeResponse: true });
  /** The problems of the previous answer, so a bad instance is reported once, not on every change. */
  private reported = new Set<string>();

  constructor(
    private readonly consul: Consul,
    private readonly query: ConsulServiceQuery,
    private readonly settings: ConsulConfig,
    private readonly onChange: (instances: readonly Instance[]) => void = () => {},
    private readonly onError: (message: string, failures: number) => void = () => {},
    private readonly onProblem: (problem: InstanceProblem) => void = () => {},
    seed?: Seed,
  ) {
    super();
    if (seed !== undefined) {
      this.current = seed.instances;
      this.currentKey = keyOf(seed.instances);
      this.lastChangeAt = seed.savedAt;
      this.origin = 'snapshot';
    }
    void this.loop();
  }

  get status(): SourceStatus {
    return {
      kind: 'consul',
      resolved: this.current !== undefined,
      instances: this.current?.length ?? 0,
      ...(this.origin === 'snapshot' && { from: 'snapshot' as const }),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      ...(this.lastChangeAt !== undefined && { lastChangeAt: this.lastChangeAt }),
    };
  }

  close(): void {
    this.closed = true;
    this.ctx.emit('cancel');
  }

  protected failed(message: string, failures: number): void {
    this.onError(message, failures);
  }


  protected async poll(): Promise<void> {
    const waitS = this.settings.waitSeconds;
    const tagFilter = this.query.tags.map((t) => `${JSON.stringify(t)} in Service.Tags`).join(' and ');
    const [res, body] = (await this.consul.health.service({
      service: this.query.service,
      passing: true,
      stale: true,
      index: String(this.index),
      wait: `${waitS}s`,
      timeout: waitS * 1000 + 5_000,
      ctx: this.ctx,
      ...(this.query.datacenter && { dc: this.query.datacenter }),
      ...(tagFilter && { filter: tagFilter }),
      ...(this.query.nodeMeta && { 'node-meta': Object.entries(this.query.nodeMeta).map(([k, v]) => `${k}:${v}`) }),
      ...(this.settings.token && { token: this.settings.token }),
    } as never)) as unknown as [{ headers: Record<string, string> }, unknown];
    if (this.closed) return;
    const next = Number(res.headers['x-consul-index']);
    // Per Consul's guidance: an index that goes backwards or is not positive restarts from 0.
    const changed = this.current === undefined || this.origin === 'snapshot' || next !== this.index;
    this.origin = 'consul';
    this.index = Number.isFinite(next) && next > 0 && next >= this.index ? next : 0;
    if (!changed) return;
    const instances = this.toInstances(Array.isArray(body) ? body : []);
    if (instances.length === 0 && (this.current?.length ?? 0) > 0 && !this.emptyUnconfirmed) {
      this.emptyUnconfirmed = true;
      this.index = 0; // the next answer comes at once, from whichever server, after the pause
      await sleep(EMPTY_CONFIRM_MS);
      return;
    }
    this.emptyUnconfirmed = false;
    // Consul wakes a blocking query for more than this service's instances changing (an unrelated
    // service when this one has none, a full fetch after an error): the same list is no change.
    const key = keyOf(instances);
    if (this.current !== undefined && key === this.currentKey) return;
    this.currentKey = key;
    this.current = Object.freeze(instances);
    this.lastChangeAt = new Date().toISOString();
    this.onChange(this.current);
  }

  /** A bad entry costs only itself: it is skipped (or its bad weight ignored) and the rest serve. */
  private toInstances(entries: readonly unknown[]): Instance[] {
    const out: Instance[] = [];
    const problems = new Set<string>();
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      const problem = 'skipped' in parsed ? parsed.skipped : parsed.ignored;
      if ('instance' in parsed) out.push(parsed.instance);
      if (problem === undefined) continue;
      const key = `${problem.id}\0${problem.field}\0${problem.value}`;
      problems.add(key);
      if (!this.reported.has(key)) this.onProblem(problem);
    }
    this.reported = problems;
    return out;
  }
}

/** Everything of a list that routing uses (only passing instances are listed, so health is in it too), in a stable order. */
function keyOf(instances: readonly Instance[]): string {
  return instances
    .map((i) => JSON.stringify([i.id, i.origin, i.weight, Object.entries(i.meta ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]))
    .sort()
    .join('\n');
}
