// The worker side of a tier run as several processes on one host (supervisor.ts forks them): the role its
// app is built with (listeners shared through SO_REUSEPORT, one Consul registration per host, GET /metrics
// for the whole group) and the commands the supervisor sends. A worker never acts on a signal itself.
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { WorkerRole } from '../runtime.js';
import type { ListeningAddresses } from '../runtime.js';
import { TICKET_KEYS_ENV, WORKER_ENV, type MetricsJson, type ToSupervisor, type ToWorker } from './protocol.js';

// A scrape waits this long for the supervisor's gathering (which itself waits at most GATHER_TIMEOUT_MS per worker).
const GROUP_METRICS_TIMEOUT_MS = 5_000;

/** What the supervisor may ask of a running worker. */
export interface WorkerCommands {
  drain(signal: string): void;
  reload(): void;
}

/** This process's slot (0..N-1) when a supervisor forked it as a worker; undefined when it runs alone or supervises. */
export function workerSlot(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env[WORKER_ENV];
  return value !== undefined && process.send !== undefined ? Number(value) : undefined;
}

export class WorkerChannel {
  readonly role: WorkerRole;
  private registry: Registry | undefined;
  private commands: WorkerCommands | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, (metrics: readonly MetricsJson[]) => void>();

  constructor(readonly slot: number) {
    const ticketKeys = process.env[TICKET_KEYS_ENV];
    delete process.env[TICKET_KEYS_ENV]; // a secret: no process this one starts inherits it
    this.role = {
      ticketKeys: ticketKeys === undefined ? undefined : Buffer.from(ticketKeys, 'base64'),
      reusePort: true,
      // Slot 0 exists for the group's whole life (a dead worker 0 is replaced in its slot): one registration per host.
      registers: slot === 0,
      exposition: (registry) => ({ contentType: registry.contentType, metrics: () => this.groupMetrics() }),
    };
    // The supervisor gone (SIGKILL, crash) leaves nobody to drain, restart or scrape us: go with it.
    process.on('disconnect', () => process.exit(1));
    // Signals are the supervisor's to act on: Ctrl-C in a terminal or a kill of the process group reaches
    // every worker too, and the supervisor forwards it once. Handled, so they do not kill the worker.
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => { /* the supervisor forwards it */ });
    process.on('message', (m: ToWorker) => this.receive(m));
  }

  /** Built and listening: from now on the supervisor's commands reach this tier. */
  serving(registry: Registry, addresses: ListeningAddresses, commands: WorkerCommands): void {
    this.registry = registry;
    this.commands = commands;
    this.send({ type: 'listening', url: addresses.url, adminUrl: addresses.adminUrl });
  }

  private receive(m: ToWorker): void {
    switch (m.type) {
      case 'drain':
        // Still starting: nothing is in flight yet.
        if (!this.commands) process.exit(0);
        this.commands.drain(m.signal);
        break;
      case 'reload':
        this.commands?.reload();
        break;
      case 'collect':
        void (this.registry?.getMetricsAsJSON() ?? Promise.resolve([])).then((metrics) => this.send({ type: 'metrics', id: m.id, metrics }));
        break;
      case 'group-metrics':
        this.waiting.get(m.id)?.(m.metrics);
        this.waiting.delete(m.id);
        break;
    }
  }

  /** Every worker's series (each labelled with its worker slot) and the supervisor's, in one exposition. */
  private async groupMetrics(): Promise<string> {
    const id = this.nextId++;
    const metrics = await new Promise<readonly MetricsJson[]>((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting.delete(id); reject(new Error('the supervisor did not answer for the group\'s metrics')); }, GROUP_METRICS_TIMEOUT_MS);
      this.waiting.set(id, (m) => { clearTimeout(timer); resolve(m); });
      this.send({ type: 'collect-group', id });
    });
    return AggregatorRegistry.aggregate(metrics as MetricsJson[]).metrics();
  }

  private send(m: ToSupervisor): void {
    // The channel closing under us is handled by 'disconnect'.
    process.send?.(m, undefined, undefined, () => { /* an error here means the supervisor is gone */ });
  }
}
