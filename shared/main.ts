// Start-up and shutdown shared by both tiers' main.ts: read the config (a bad
// one stops the process with a compiler-style message), build, listen, and on
// SIGTERM/SIGINT turn unready, drain in-flight requests and exit.
import type { Logger } from 'pino';
import { loadConfigFile, ConfigError } from './config/load.js';
import { configPath } from './config/env.js';
import type { Config } from './config/schema.js';
import { createLogger } from './log.js';
import type { TierRuntime } from './runtime.js';

const DRAIN_LIMIT_MS = 15_000;

export async function runTier(tier: 'edge' | 'router', build: (config: Readonly<Config>, log: Logger) => TierRuntime): Promise<void> {
  const path = configPath(process.argv.slice(2), process.env, 'gatehouse.yaml');
  let config: Readonly<Config>;
  try {
    config = loadConfigFile(path, process.env);
    if (!config[tier]) throw new ConfigError(path, [`${tier}: is required to run the ${tier} tier but missing`]);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gatehouse ${tier}: ${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger(tier, config.log.level);
  // A promise some dependency path forgot to handle must not take every in-flight request down with it.
  process.on('unhandledRejection', (err) => log.error({ event: 'unhandled-rejection', err }, 'a promise failed with nobody waiting for it; serving on'));
  const runtime = build(config, log);
  try {
    const addresses = await runtime.listen();
    log.info({ event: 'listening', config: path, ...addresses }, `${tier} listening on ${addresses.url}`);
  } catch (err) {
    process.stderr.write(`gatehouse ${tier}: cannot listen: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'shutdown', signal }, 'draining in-flight requests');
    const force = setTimeout(() => { log.warn({ event: 'shutdown-forced' }, 'drain limit reached'); process.exit(1); }, DRAIN_LIMIT_MS);
    force.unref();
    runtime.close().then(() => { log.flush(); process.exit(0); }, (err: Error) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
