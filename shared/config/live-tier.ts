// Puts a built tier under live configuration: the document it starts from (the KV document while the key
// holds a valid one, else the bootstrap file), the validator worker, the watches, and the admin endpoint
// GET /config/status. Used by the tiers' main (shared/main.ts) and by tests that run tiers in one process.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { TierRuntime } from '../runtime.js';
import type { Env } from './env.js';
import type { ConsulConfig, LiveConfigConfig } from './schema.js';
import { ConfigError } from './load.js';
import { CandidateValidator } from './candidate-validator.js';
import { configMetrics } from '../metrics/state.js';
import { LiveConfig, documentName, fileDocument, kvDocument, type ConfigDocument, type ConfigOverlay, type KvDocuments } from './live.js';

/** What the live machinery reads of a config: where its document comes from. */
export interface LiveSettings {
  readonly config: LiveConfigConfig;
  readonly consul?: ConsulConfig | undefined;
}

/** The loader of the whole file (config/load.ts), named by URL so the validator worker can import it too. */
export interface LoaderModule<C> {
  readonly url: URL;
  parseConfig(text: string, file: string, env?: Env, baseDir?: string): Readonly<C>;
}

export interface StartingConfig<C> {
  readonly config: Readonly<C>;
  readonly document: ConfigDocument;
  /** A KV document that was present but refused at start: the file serves instead, and status shows why. */
  readonly refused?: { readonly error: ConfigError; readonly document: ConfigDocument };
}

/**
 * The config to build the tier from. bootstrap is the file, already loaded; with config.consul.key set and a
 * document under it, that document wins. Consul down at start is no reason not to start: the file serves,
 * and the watch picks the KV document up when Consul answers.
 */
export async function startingConfig<C extends LiveSettings>(
  file: string, bootstrap: Readonly<C>, loader: LoaderModule<C>, kv: KvDocuments | undefined, env: Env, log: Logger,
): Promise<StartingConfig<C>> {
  const fromFile = { config: bootstrap, document: fileDocument(file, readFileSync(file, 'utf8')) };
  const key = bootstrap.config.consul?.key;
  if (kv === undefined || key === undefined) return fromFile;
  let held: Awaited<ReturnType<KvDocuments['read']>>;
  try {
    held = await kv.read();
  } catch (err) {
    log.warn({ event: 'config-source-error', key, err: (err as Error).message }, 'Consul KV unreachable at start; serving the file until it answers');
    return fromFile;
  }
  if (held === undefined) return fromFile;
  const document = kvDocument(key, held);
  try {
    return { config: withBootstrapLive(loader.parseConfig(document.text, documentName(document), env, dirname(file)), bootstrap), document };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error({ event: 'config-refused', trigger: 'start', source: 'consul', location: key, version: held.version, problems: err.problems }, `config ${documentName(document)} refused; serving the file`);
    return { ...fromFile, refused: { error: err, document } };
  }
}

/** The live section always comes from the bootstrap file: a KV document cannot move or stop its own watch. */
export function withBootstrapLive<C extends LiveSettings>(doc: Readonly<C>, bootstrap: Readonly<C>): Readonly<C> {
  return doc.config === bootstrap.config ? doc : Object.freeze({ ...doc, config: bootstrap.config });
}

export interface AttachOptions<C extends LiveSettings> {
  readonly file: string;
  readonly bootstrap: Readonly<C>;
  readonly starting: StartingConfig<C>;
  readonly loader: LoaderModule<C>;
  readonly kv: KvDocuments | undefined;
  readonly overlay?: ConfigOverlay<C> | undefined;
  readonly log: Logger;
}

export interface LiveAttachment<C> {
  readonly live: LiveConfig<C>;
  /** Resolves once the validator worker has loaded the schema and validated the starting document. */
  readonly warmed: Promise<void>;
  close(): Promise<void>;
}

/** Call before runtime.listen(): it adds GET /config/status to the admin listener. Start watching with live.start(). */
export function attachLiveConfig<C extends LiveSettings>(runtime: TierRuntime<C>, o: AttachOptions<C>): LiveAttachment<C> {
  const validator = new CandidateValidator<C>(o.loader.url);
  const warmed = validator.warm({ text: o.starting.document.text, file: documentName(o.starting.document), baseDir: dirname(o.file) });
  const key = o.bootstrap.config.consul?.key;
  const live = new LiveConfig<C>({
    file: o.file,
    kv: o.kv && key !== undefined ? { key, documents: o.kv } : undefined,
    initial: o.starting.document,
    initialConfig: o.starting.config,
    overlay: o.overlay,
    watchFile: o.bootstrap.config.watchFile,
    validate: async (doc) => withBootstrapLive(await validator.validate(doc.text, documentName(doc), dirname(o.file)), o.bootstrap),
    apply: (config) => runtime.reload(config),
    log: o.log,
  });
  if (o.starting.refused) live.noteRefused(o.starting.refused.error, o.starting.refused.document);
  runtime.configStatus = () => live.status();
  configMetrics(runtime.metrics.registry, () => live.status());
  runtime.admin.get('/config/status', async (_req, reply) => reply.header('cache-control', 'no-store').send(live.status()));
  return {
    live,
    warmed,
    async close() {
      live.close();
      await validator.close();
    },
  };
}
