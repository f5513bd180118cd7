// The messages a tier's supervisor and its workers exchange over the fork IPC channel. Types only: the
// supervisor's side is supervisor.ts, the worker's worker.ts.
import type { Registry } from 'prom-client';

/** The environment variable that makes a forked tier process a worker, and names its slot (0..N-1). */
export const WORKER_ENV = 'GATEHOUSE_WORKER';
/**
 * The TLS session ticket keys every worker of one supervisor shares (base64, 48 bytes), so a client resumes its
 * session whichever worker the kernel hands its next connection. Read and removed from the environment at once.
 */
export const TICKET_KEYS_ENV = 'GATEHOUSE_WORKER_TICKET_KEYS';

/** One registry's metrics as prom-client's getMetricsAsJSON() gives them. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type ToWorker =
  /** The supervisor got SIGTERM or SIGINT: run the ordered shutdown and exit 0 (drained) or 1 (cut). */
  | { readonly type: 'drain'; readonly signal: string }
  /** The supervisor got SIGHUP: re-read the config. */
  | { readonly type: 'reload' }
  /** Send this worker's own metrics (for a group scrape some worker is answering). */
  | { readonly type: 'collect'; readonly id: number }
  /** The answer to this worker's 'collect-group': every worker's metrics and the supervisor's. */
  | { readonly type: 'group-metrics'; readonly id: number; readonly metrics: readonly MetricsJson[] };

export type ToSupervisor =
  /** Listening on every listener: the slot is up. */
  | { readonly type: 'listening'; readonly url: string; readonly adminUrl: string }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: MetricsJson }
  /** This worker answers GET /metrics and needs the group's. */
  | { readonly type: 'collect-group'; readonly id: number };
