// Start-up and shutdown shared by both tiers' main.ts: read the config (a bad
// one stops the process with a compiler-style message), build, listen, keep
// the config live (SIGHUP, the file, Consul KV: config/live-tier.ts), and on
// SIGTERM/SIGINT run the ordered shutdown (shutdown.ts) and exit: 0 once every
// in-flight request finished, 1 if some were cut. A second signal during the
// drain is an operator who will not wait: exit 1 at once. With workers > 1 this process supervises workers
// instead (workers/supervisor.ts), each of which runs this same function as a worker (workers/worker.ts).
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError } from './config/load.js';
import { configPath, type Env } from './config/env.js';
import { createLogger } from './log.js';
import { SINGLE_PROCESS, type TierRuntime, type WorkerRole } from './runtime.js';
import type { ShutdownConfig } from './shutdown.js';
import type { WorkersSetting } from './workers/schema.js';
import { superviseWorkers, unsharablePorts, workerCount } from './workers/supervisor.js';
import { WorkerChannel, workerSlot } from './workers/worker.js';
import { attachLiveConfig, startingConfig, type LiveSettings, type LoaderModule } from './config/live-tier.js';
import { configDocuments } from './config/kv-documents.js';
import { fileDocument, type ConfigOverlay } from './config/live.js';

// Beyond drainDelayMs + timeoutMs: Consul deregistration and closing clients are each bounded in
// seconds; this only catches a step that hangs anyway.
const SHUTDOWN_SLACK_MS = 10_000;
// A tier starting with published routes waits this long for Consul's first answer about them, then serves without.
const OVERLAY_FIRST_ANSWER_MS = 3_000;
// A worker waits at most this long to be ready before it binds the shared ports anyway.
const WORKER_READY_WAIT_MS = 10_000;

/** What start-up and shutdown read of a config; the tier's main.ts passes the loader of the whole file. */
interface TierConfig extends LiveSettings {
  readonly log: { readonly level: string };
  readonly edge?: TierSection & { readonly redirectHttp?: Listener | undefined };
  readonly router?: TierSection;
}

type Listener = { readonly port: number };
interface TierSection {
  readonly shutdown: ShutdownConfig;
  readonly workers: WorkersSetting;
  readonly listen: Listener;
  readonly admin: Listener;
}

export async function runTier<C extends TierConfig>(
  tier: 'edge' | 'router',
  loader: LoaderModule<C> & { loadConfigFile(path: string, env: Env): Readonly<C> },
  build: (config: Readonly<C>, log: Logger, role: WorkerRole) => TierRuntime<C>,
  /** What adds to the document before building, from a source of its own (the routes services publish). */
  overlayOf?: (log: Logger) => ConfigOverlay<C> & { firstAnswer(timeoutMs: number): Promise<void> },
): Promise<void> {
  const path = resolve(configPath(process.argv.slice(2), process.env, 'gatehouse.yaml'));
  let bootstrap: Readonly<C>;
  try {
    bootstrap = loader.loadConfigFile(path, process.env);
    if (!bootstrap[tier]) throw new ConfigError(path, [`${tier}: is required to run the ${tier} tier but missing`]);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gatehouse ${tier}: ${err.message}\n`);
    process.exit(2);
  }
  const slot = workerSlot();
  const log = createLogger(tier, bootstrap.log.level, undefined, slot === undefined ? undefined : { worker: slot });
  const section = bootstrap[tier]!;
  const count = workerCount(section.workers);
  if (slot === undefined && count > 1) {
    const unsharable = unsharablePorts({ listen: section.listen, admin: section.admin, redirectHttp: tier === 'edge' ? bootstrap.edge?.redirectHttp : undefined });
    if (unsharable.length > 0) {
      process.stderr.write(`gatehouse ${tier}: ${path}: ${unsharable.map((l) => `${tier}.${l}.port`).join(', ')}: expected a fixed port with ${tier}.workers ${section.workers}, found 0 (each worker would listen on a port of its own)\n`);
      process.exit(2);
    }
    superviseWorkers({ tier, count, shutdown: section.shutdown, log });
    return;
  }
  const worker = slot === undefined ? undefined : new WorkerChannel(slot);
  // A promise some dependency path forgot to handle must not take every in-flight request down with it.
  process.on('unhandledRejection', (err) => log.error({ event: 'unhandled-rejection', err }, 'a promise failed with nobody waiting for it; serving on'));
  const kv = configDocuments(bootstrap);
  const starting = await startingConfig(path, bootstrap, loader, kv, process.env, log);
  // A KV document that lacks this tier's section cannot run it: the file does.
  const document = starting.config[tier] ? starting : { config: bootstrap, document: fileDocument(path, readFileSync(path, 'utf8')) };
  const overlay = overlayOf?.(log);
  if (overlay) {
    overlay.apply(document.config);
    await overlay.firstAnswer(OVERLAY_FIRST_ANSWER_MS);
  }
  const runtime = build(overlay ? overlay.apply(document.config) : document.config, log, worker?.role ?? SINGLE_PROCESS);
  // One series per worker in the group's scrape: counters stay monotonic through a worker's replacement.
  if (slot !== undefined) runtime.metrics.registry.setDefaultLabels({ tier, worker: String(slot) });
  const live = attachLiveConfig(runtime, { file: path, bootstrap, starting: document, loader, kv, overlay, log });
  let addresses: Awaited<ReturnType<typeof runtime.listen>>;
  try {
    // A worker's listener takes connections from the kernel the moment it binds, with no balancer waiting on its
    // /ready: a replacement binds once ready (Redis up, discovery answered), or after a bound wait as one process would.
    if (worker) await readyOrAfter(runtime, WORKER_READY_WAIT_MS, log);
    addresses = await runtime.listen();
    log.info({ event: 'listening', config: path, ...addresses }, `${tier} listening on ${addresses.url}`);
    live.live.start();
  } catch (err) {
    process.stderr.write(`gatehouse ${tier}: cannot listen: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const { drainDelayMs, timeoutMs } = document.config[tier]!.shutdown;
  let stopping = false;
  const exit = (code: number) => { log.flush(); process.exit(code); };
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ event: 'shutdown-immediate', signal }, 'second signal during the drain; exiting now');
      exit(1);
    }
    stopping = true;
    void live.close();
    kv?.close();
    log.info({ event: 'shutdown', signal, drainDelayMs, timeoutMs }, 'unready; draining in-flight requests');
    const force = setTimeout(() => { log.warn({ event: 'shutdown-forced' }, 'shutdown did not finish in time'); exit(1); }, drainDelayMs + timeoutMs + SHUTDOWN_SLACK_MS);
    force.unref();
    runtime.close().then((outcome) => {
      log.info({ event: 'shutdown-complete', outcome }, outcome === 'drained' ? 'every in-flight request finished' : 'some requests were cut');
      exit(outcome === 'drained' ? 0 : 1);
    }, (err: Error) => { log.error({ err }, 'shutdown failed'); exit(1); });
  };
  const reload = () => void live.live.reload('sighup');
  if (worker) {
    worker.serving(runtime.metrics.registry, addresses, { drain: stop, reload });
    return;
  }
  process.on('SIGHUP', reload);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Resolves once the tier's /ready says ready (asked in process, before any port is bound), or after timeoutMs. */
async function readyOrAfter(runtime: TierRuntime, timeoutMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await runtime.admin.inject({ method: 'GET', url: '/ready' })).statusCode === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  log.warn({ event: 'worker-not-ready', timeoutMs }, 'not ready yet; listening anyway');
}
