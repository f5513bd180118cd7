// The process a tier's main becomes with workers > 1: forks the workers (each a whole tier that binds the
// shared ports with SO_REUSEPORT, so the kernel spreads connections and a dead worker's socket simply stops
// receiving), replaces one that dies (with backoff), forwards SIGHUP, and on SIGTERM/SIGINT has every worker
// drain and exits 0 if all drained, 1 if any cut requests. It serves no traffic and builds no tier itself.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ShutdownConfig } from '../shutdown-schema.js';
import type { WorkersSetting } from './schema.js';
import { TICKET_KEYS_ENV, WORKER_ENV, type MetricsJson, type ToSupervisor, type ToWorker } from './protocol.js';

// Beyond drainDelayMs + timeoutMs, as shared/main.ts allows a single process.
const SHUTDOWN_SLACK_MS = 10_000;
// A worker that dies is replaced after RESTART_MIN_MS, doubling with each death in a row up to RESTART_MAX_MS;
// one that served STABLE_MS first counts as a fresh start. A crash loop costs a fork every 30 s, not a spinning CPU.
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 30_000;
const STABLE_MS = 10_000;
// A group scrape waits this long for each worker's metrics; a worker busy past it is left out of that scrape.
const GATHER_TIMEOUT_MS = 2_000;

export function workerCount(setting: WorkersSetting): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** A listener port that workers cannot share: with port 0 each worker would get a port of its own. */
export function unsharablePorts(listeners: Readonly<Record<string, { readonly port: number } | undefined>>): string[] {
  return Object.entries(listeners).filter(([, l]) => l?.port === 0).map(([name]) => name);
}

interface Slot {
  readonly index: number;
  child?: ChildProcess | undefined;
  /** Its worker has said it listens on every listener. */
  serving: boolean;
  startedAt: number;
  /** Deaths in a row, each without STABLE_MS of serving before it. */
  deaths: number;
  restart?: NodeJS.Timeout | undefined;
}

export interface SupervisorOptions {
  readonly tier: 'edge' | 'router';
  readonly count: number;
  readonly shutdown: ShutdownConfig;
  readonly log: Logger;
}

export function superviseWorkers(o: SupervisorOptions): void {
  const { log } = o;
  const slots: Slot[] = Array.from({ length: o.count }, (_, index) => ({ index, serving: false, startedAt: 0, deaths: 0 }));
  const metrics = supervisorMetrics(o.tier, () => slots.filter((s) => s.serving).length);
  let started = false;
  let stopping = false;
  let cut = false;
  let nextId = 0;
  // Node's own length for ticket keys; made once, so a replacement worker resumes the sessions its predecessor issued.
  const ticketKeys = randomBytes(48).toString('base64');
  const collecting = new Map<number, (m: MetricsJson) => void>();

  const exit = (code: number) => { log.flush(); process.exit(code); };
  const send = (child: ChildProcess, m: ToWorker) => { if (child.connected) child.send(m, undefined, undefined, () => { /* it died: 'exit' follows */ }); };
  const killAll = () => { for (const s of slots) s.child?.kill('SIGKILL'); };

  function spawn(slot: Slot): void {
    const child = fork(process.argv[1]!, process.argv.slice(2), { env: { ...process.env, [WORKER_ENV]: String(slot.index), [TICKET_KEYS_ENV]: ticketKeys }, execArgv: process.execArgv });
    slot.child = child;
    slot.startedAt = Date.now();
    log.info({ event: 'worker-started', worker: slot.index, pid: child.pid }, `worker ${slot.index} started`);
    child.on('message', (m: ToSupervisor) => {
      if (m.type === 'listening') {
        slot.serving = true;
        if (!started) announce(slot, m);
      } else if (m.type === 'metrics') {
        collecting.get(m.id)?.(m.metrics);
      } else if (m.type === 'collect-group') {
        void gather().then((all) => send(child, { type: 'group-metrics', id: m.id, metrics: all }));
      }
    });
    child.on('exit', (code, signal) => {
      const served = slot.serving;
      slot.child = undefined;
      slot.serving = false;
      if (stopping) {
        if (code !== 0) cut = true;
        log.info({ event: 'worker-exited', worker: slot.index, pid: child.pid, code, signal }, `worker ${slot.index} exited`);
        if (slots.every((s) => !s.child)) {
          const outcome = cut ? 'forced' : 'drained';
          log.info({ event: 'shutdown-complete', outcome }, outcome === 'drained' ? 'every worker drained' : 'some requests were cut');
          exit(cut ? 1 : 0);
        }
        return;
      }
      // A worker that cannot start before the group ever served is a bad start (a port taken, say), as for one process.
      if (!started && !served) {
        log.error({ event: 'worker-start-failed', worker: slot.index, code, signal }, `worker ${slot.index} failed to start; stopping`);
        killAll();
        exit(1);
      }
      slot.deaths = Date.now() - slot.startedAt >= STABLE_MS ? 1 : slot.deaths + 1;
      const delayMs = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (slot.deaths - 1));
      metrics.restarts.inc();
      log.warn({ event: 'worker-exited', worker: slot.index, pid: child.pid, code, signal, restartInMs: delayMs }, `worker ${slot.index} died; replacing it`);
      slot.restart = setTimeout(() => { slot.restart = undefined; spawn(slot); }, delayMs);
    });
  }

  const listened = new Set<number>();
  function announce(slot: Slot, m: Extract<ToSupervisor, { type: 'listening' }>): void {
    listened.add(slot.index);
    if (listened.size < o.count) return;
    started = true;
    log.info({ event: 'listening', url: m.url, adminUrl: m.adminUrl, workers: o.count }, `${o.tier} listening on ${m.url} with ${o.count} workers`);
  }

  /** Every live worker's metrics (those answering within GATHER_TIMEOUT_MS) and the supervisor's own. */
  async function gather(): Promise<MetricsJson[]> {
    const fromWorkers = slots.filter((s) => s.child?.connected).map((s) => new Promise<MetricsJson | undefined>((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => { collecting.delete(id); resolve(undefined); }, GATHER_TIMEOUT_MS);
      collecting.set(id, (m) => { clearTimeout(timer); collecting.delete(id); resolve(m); });
      send(s.child!, { type: 'collect', id });
    }));
    const all = await Promise.all([...fromWorkers, metrics.registry.getMetricsAsJSON()]);
    return all.filter((m): m is MetricsJson => m !== undefined);
  }

  function stop(signal: string): void {
    if (stopping) {
      log.warn({ event: 'shutdown-immediate', signal }, 'second signal during the drain; exiting now');
      killAll();
      exit(1);
    }
    stopping = true;
    const { drainDelayMs, timeoutMs } = o.shutdown;
    log.info({ event: 'shutdown', signal, drainDelayMs, timeoutMs, workers: o.count }, 'every worker unready; draining in-flight requests');
    for (const s of slots) clearTimeout(s.restart);
    const live = slots.filter((s) => s.child);
    if (live.length === 0) exit(0);
    for (const s of live) send(s.child!, { type: 'drain', signal });
    const force = setTimeout(() => {
      log.warn({ event: 'shutdown-forced' }, 'the workers did not finish in time');
      killAll();
      exit(1);
    }, drainDelayMs + timeoutMs + 2 * SHUTDOWN_SLACK_MS); // the workers' own bound, and then some
    force.unref();
  }

  for (const slot of slots) spawn(slot);
  process.on('SIGHUP', () => { for (const s of slots) if (s.child) send(s.child, { type: 'reload' }); });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** The supervisor's own series, beside the workers' in every group scrape. */
function supervisorMetrics(tier: string, live: () => number): { registry: Registry; restarts: Counter } {
  const registry = new Registry();
  registry.setDefaultLabels({ tier });
  new Gauge({ name: 'gatehouse_workers', help: 'Worker processes listening under this supervisor (a replacement counts once it listens).', registers: [registry], collect() { this.set(live()); } });
  const restarts = new Counter({ name: 'gatehouse_worker_restarts_total', help: 'Workers that died and were replaced.', registers: [registry] });
  return { registry, restarts };
}
