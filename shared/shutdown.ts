// The ordered shutdown both tiers share, so neither can skip a step or take
// them in another order: leave Consul, keep serving while balancers notice
// readiness failing, stop accepting, drain in flight (bounded), close clients.
// It never exits the process: main.ts does, from the outcome.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ShutdownConfig } from './shutdown-schema.js';

export { ShutdownSchema, type ShutdownConfig } from './shutdown-schema.js';

/** drained: every in-flight request finished; forced: some were cut at timeoutMs. */
export type ShutdownOutcome = 'drained' | 'forced';

export interface ShutdownSteps {
  readonly config: ShutdownConfig;
  readonly log: Logger;
  /** Leaves Consul, bounded in time; first, so edges stop choosing this instance during the delay. */
  readonly deregister?: (() => Promise<void>) | undefined;
  /** The public listeners: they accept through the drain delay, then close. */
  readonly listeners: readonly FastifyInstance[];
  /** Right before the listeners close (GOAWAY to HTTP/2 sessions, watchers off). */
  readonly beforeClose?: () => void;
  /** Cuts what is still open when timeoutMs runs out. */
  readonly cut?: () => void;
  /** Closes last, so /ready answers 503 (not a refused connection) all through the drain. */
  readonly admin: FastifyInstance;
  /** Discovery watchers, upstream pools, Redis: after the last request is done. */
  readonly closeClients: () => Promise<void>;
}

export async function shutDown(s: ShutdownSteps): Promise<ShutdownOutcome> {
  await s.deregister?.();
  await sleep(s.config.drainDelayMs);
  s.beforeClose?.();
  let deadline: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    Promise.all(s.listeners.map((l) => l.close())).then(() => true),
    new Promise<boolean>((r) => { deadline = setTimeout(() => r(false), s.config.timeoutMs); }),
  ]);
  clearTimeout(deadline);
  if (!drained) {
    s.log.warn({ event: 'shutdown-forced', timeoutMs: s.config.timeoutMs }, 'requests still in flight at the shutdown timeout; cutting their connections');
    for (const l of s.listeners) (l.server as { closeAllConnections?: () => void }).closeAllConnections?.();
    s.cut?.();
  }
  await s.admin.close();
  await s.closeClients();
  return drained ? 'drained' : 'forced';
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}
