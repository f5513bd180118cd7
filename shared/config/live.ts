// Live configuration: which document a tier serves (its file, or a Consul KV key that replaces the file
// while it holds one), and reloading it on SIGHUP, a file change or a KV change. A candidate is validated
// off the serving thread, then handed to the tier, which builds and swaps atomically; a bad one changes
// nothing that serves and is logged once. Never import a tier or the composed schema here.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from './load.js';

/** One config document as read: where from, which version, and its text. */
export interface ConfigDocument {
  readonly source: 'file' | 'consul';
  /** The file's path, or the KV key. */
  readonly location: string;
  /** Consul's ModifyIndex of the key; undefined for a file. */
  readonly version: number | undefined;
  /** sha256 of the text, hex. */
  readonly hash: string;
  readonly text: string;
}

/** The KV side of a config source (shared/config/kv-store.ts's ConfigKv). */
export interface KvDocuments {
  read(): Promise<{ readonly version: number; readonly hash: string; readonly text: string } | undefined>;
  watch(
    onChange: (v: { readonly version: number; readonly hash: string; readonly text: string } | undefined) => void,
    onError: (err: Error, failures: number) => void,
  ): { close(): void };
}

/** What applying a config did: the changed fields that wait for a restart (they keep their running values). */
export interface ReloadReport { readonly restartRequired: readonly string[] }

export interface ConfigStatus {
  readonly source: 'file' | 'consul';
  readonly location: string;
  /** Consul's ModifyIndex for a KV document; for a file, the generation. */
  readonly version: number;
  readonly hash: string;
  readonly loadedAt: string;
  /** How many configs this process has applied, the first included. */
  readonly generation: number;
  readonly restartRequired: readonly string[];
  readonly lastError: { readonly at: string; readonly source: string; readonly location: string; readonly hash: string; readonly problems: readonly string[] } | null;
}

export type ReloadTrigger = 'sighup' | 'file' | 'consul' | 'overlay';

/**
 * What adds to a validated document before a tier builds from it, from a source of its own (the routes
 * services publish in Consul: config/published-overlay.ts). Pure in the document: the same document and
 * the same source state give the same config on every instance.
 */
export interface ConfigOverlay<C> {
  apply(config: Readonly<C>): Readonly<C>;
  /** Starts watching its source; calls changed() whenever apply would now give another result. */
  start(changed: () => void): void;
  close(): void;
}
export type ReloadOutcome = 'applied' | 'unchanged' | 'refused';

export interface LiveConfigOptions<C> {
  /** The bootstrap file, absolute. */
  readonly file: string;
  readonly kv?: { readonly key: string; readonly documents: KvDocuments } | undefined;
  /** What the tier was built from. */
  readonly initial: ConfigDocument;
  readonly watchFile: boolean;
  /** Parses and validates a document (in a worker), file paths resolved against the bootstrap file's directory. */
  readonly validate: (doc: ConfigDocument) => Promise<Readonly<C>>;
  /** The validated document the tier was built from, before any overlay. */
  readonly initialConfig: Readonly<C>;
  readonly overlay?: ConfigOverlay<C> | undefined;
  /** Builds and swaps; rejects if the config cannot be built (a key file missing): nothing then changes. */
  readonly apply: (config: Readonly<C>) => Promise<ReloadReport>;
  readonly log: Logger;
}

const FILE_SETTLE_MS = 100; // editors and ConfigMap updates write in several steps

export const hashOf = (text: string): string => createHash('sha256').update(text).digest('hex');

export function fileDocument(file: string, text: string): ConfigDocument {
  return { source: 'file', location: file, version: undefined, hash: hashOf(text), text };
}

export function kvDocument(key: string, v: { readonly version: number; readonly hash: string; readonly text: string }): ConfigDocument {
  return { source: 'consul', location: key, version: v.version, hash: v.hash, text: v.text };
}

/** How a document is named in messages: the file's path, or consul:<key>@<version>. */
export const documentName = (doc: ConfigDocument): string => (doc.source === 'file' ? doc.location : `consul:${doc.location}@${doc.version}`);

export class LiveConfig<C> {
  private current: ConfigDocument;
  /** The validated document serving now, before the overlay: what an overlay change is applied to. */
  private documentConfig: Readonly<C>;
  private kvDoc: ConfigDocument | undefined;
  private generation = 1;
  private loadedAt = new Date().toISOString();
  private restartRequired: readonly string[] = [];
  private lastError: ConfigStatus['lastError'] = null;
  /** The hash of the last refused candidate: the same bad document is logged once, however often it is seen. */
  private refusedHash: string | undefined;
  private running: Promise<ReloadOutcome> | undefined;
  private queued: { trigger: ReloadTrigger; promise: Promise<ReloadOutcome> } | undefined;
  private fileWatcher: FSWatcher | undefined;
  private fileTimer: NodeJS.Timeout | undefined;
  private kvWatch: { close(): void } | undefined;

  constructor(private readonly o: LiveConfigOptions<C>) {
    this.current = o.initial;
    this.documentConfig = o.initialConfig;
    if (o.initial.source === 'consul') this.kvDoc = o.initial;
  }

  status(): ConfigStatus {
    return {
      source: this.current.source,
      location: this.current.location,
      version: this.current.version ?? this.generation,
      hash: this.current.hash,
      loadedAt: this.loadedAt,
      generation: this.generation,
      restartRequired: this.restartRequired,
      lastError: this.lastError,
    };
  }

  /** A KV document refused at start, before this existed: shown as the last error. */
  noteRefused(err: ConfigError, doc: ConfigDocument): void {
    this.lastError = { at: new Date().toISOString(), source: doc.source, location: doc.location, hash: doc.hash, problems: err.problems };
    this.refusedHash = doc.hash;
  }

  start(): void {
    if (this.o.watchFile) this.watchFile();
    this.o.overlay?.start(() => void this.reload('overlay'));
    const kv = this.o.kv;
    if (kv) {
      this.kvWatch = kv.documents.watch(
        (v) => { this.kvDoc = v && kvDocument(kv.key, v); void this.reload('consul'); },
        (err, failures) => {
          // Once per outage and then at growing intervals: never a line per retry.
          if ((failures & (failures - 1)) === 0) this.o.log.warn({ event: 'config-source-error', key: kv.key, failures, err: err.message }, 'Consul KV unreachable; serving the current config');
        },
      );
    }
  }

  close(): void {
    this.o.overlay?.close();
    this.fileWatcher?.close();
    clearTimeout(this.fileTimer);
    this.kvWatch?.close();
  }

  /** Reads the sources again and applies what they hold. Reloads run one at a time; triggers during one coalesce into one more. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    if (this.running === undefined) return this.run(trigger);
    this.queued ??= { trigger, promise: this.running.then(() => { const q = this.queued!; this.queued = undefined; return this.run(q.trigger); }) };
    return this.queued.promise;
  }

  private run(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const done = this.once(trigger).finally(() => { this.running = undefined; });
    this.running = done;
    return done;
  }

  private async once(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    if (trigger === 'overlay') return this.reapply();
    const candidate = await this.candidate(trigger);
    if (candidate === undefined) return 'unchanged';
    if (candidate.hash === this.current.hash && candidate.source === this.current.source) {
      if (trigger === 'sighup') this.o.log.info({ event: 'config-unchanged', trigger, source: candidate.source, hash: candidate.hash }, 'config unchanged');
      return 'unchanged';
    }
    let config: Readonly<C>;
    let report: ReloadReport;
    const started = performance.now();
    let validated = started;
    try {
      config = await this.o.validate(candidate);
      validated = performance.now();
      report = await this.o.apply(this.o.overlay ? this.o.overlay.apply(config) : config);
    } catch (err) {
      this.refuse(candidate, trigger, err);
      return 'refused';
    }
    this.current = candidate;
    this.documentConfig = config;
    this.generation += 1;
    this.loadedAt = new Date().toISOString();
    this.restartRequired = report.restartRequired;
    this.lastError = null;
    this.refusedHash = undefined;
    const fields = {
      event: 'config-reloaded', trigger, source: candidate.source, location: candidate.location, version: candidate.version, hash: candidate.hash, generation: this.generation,
      validateMs: Math.round(validated - started), applyMs: Math.round(performance.now() - validated),
    };
    this.o.log.info(fields, `config reloaded from ${documentName(candidate)}`);
    if (report.restartRequired.length > 0) {
      this.o.log.warn({ event: 'config-restart-required', fields: report.restartRequired, hash: candidate.hash }, `applied, but ${report.restartRequired.join(', ')} change only with a restart: the running values stay`);
    }
    return 'applied';
  }

  /** The overlay's source changed: the same document, built again with what the overlay adds now. */
  private async reapply(): Promise<ReloadOutcome> {
    try {
      await this.o.apply(this.o.overlay!.apply(this.documentConfig));
    } catch (err) {
      this.o.log.error({ event: 'config-overlay-failed', err: (err as Error).message }, 'what the overlay added cannot be built; the running config keeps serving');
      return 'refused';
    }
    this.generation += 1;
    this.loadedAt = new Date().toISOString();
    return 'applied';
  }

  /** The document to serve now: the KV document while the key holds one, else the file. */
  private async candidate(trigger: ReloadTrigger): Promise<ConfigDocument | undefined> {
    const kv = this.o.kv;
    if (kv && trigger === 'sighup') {
      try {
        const v = await kv.documents.read();
        this.kvDoc = v && kvDocument(kv.key, v);
      } catch (err) {
        this.o.log.warn({ event: 'config-source-error', key: kv.key, err: (err as Error).message }, 'Consul KV unreachable; the last KV document known is used');
      }
    }
    if (this.kvDoc) return this.kvDoc;
    try {
      return fileDocument(this.o.file, await readFile(this.o.file, 'utf8'));
    } catch (err) {
      const problem = `cannot read the file: ${(err as Error).message}`;
      // Hashed like a document, so the same failure, seen at every change in the directory, is logged once.
      this.refuse({ source: 'file', location: this.o.file, version: undefined, hash: hashOf(problem), text: '' }, trigger, new ConfigError(this.o.file, [problem]));
      return undefined;
    }
  }

  private refuse(candidate: ConfigDocument, trigger: ReloadTrigger, err: unknown): void {
    const problems = err instanceof ConfigError ? err.problems : [`cannot build: ${(err as Error).message}`];
    this.lastError = { at: new Date().toISOString(), source: candidate.source, location: candidate.location, hash: candidate.hash, problems };
    if (this.refusedHash === candidate.hash) return;
    this.refusedHash = candidate.hash;
    this.o.log.error(
      { event: 'config-refused', trigger, source: candidate.source, location: candidate.location, version: candidate.version, hash: candidate.hash, problems },
      `config ${documentName(candidate)} refused; the running config keeps serving:\n  ${problems.join('\n  ')}`,
    );
  }

  /** The directory, not the file: an editor's save-by-rename and a ConfigMap's symlink swap replace the file itself. */
  private watchFile(): void {
    try {
      this.fileWatcher = watch(dirname(this.o.file), { persistent: false }, () => {
        clearTimeout(this.fileTimer);
        this.fileTimer = setTimeout(() => void this.reload('file'), FILE_SETTLE_MS);
      });
      this.fileWatcher.on('error', (err) => this.o.log.warn({ event: 'config-watch-error', file: this.o.file, err: err.message }, 'cannot watch the config file; SIGHUP still reloads'));
    } catch (err) {
      this.o.log.warn({ event: 'config-watch-error', file: this.o.file, err: (err as Error).message }, 'cannot watch the config file; SIGHUP still reloads');
    }
  }
}
