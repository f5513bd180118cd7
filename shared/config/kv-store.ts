// The config document in Consul KV: the live text at <key> (its version is the key's ModifyIndex), pushes
// with check-and-set so that a push never overwrites one it did not see, the last versions under
// <key>/history/, and a watch for the tiers' hot reload. Never validates a document (config/ does) and
// never logs or reports the ACL token.
import type { ConsulConfig } from './schema.js';
import { ConsulKvError, ConsulKvHttp, MAX_VALUE_BYTES, TXN_MAX_OPS, type RawValue, type TxnOp } from './kv-http.js';
import {
  ConfigValueError, configHash, decodeText, historyKey, historyPrefix, oversizeError, parseHistoryEntry, versionOfHistoryKey,
  type ConfigVersion, type HistoryEntry,
} from './kv-history.js';
import { jitteredBackoff } from '../discovery/blocking-query.js';

export { ConfigValueError, configHash, type ConfigVersion, type HistoryEntry } from './kv-history.js';
export { ConsulKvError, MAX_VALUE_BYTES } from './kv-http.js';

/** A check-and-set push lost: the live version was found, not expected (0: the key does not exist). */
export class ConfigConflictError extends Error {
  override name = 'ConfigConflictError';
  constructor(readonly expected: number, readonly found: number) {
    super(found === 0
      ? `the config key was deleted after version ${expected} was read`
      : expected === 0 ? `version ${found} was pushed while the key was expected to be absent` : `version ${found} was pushed after version ${expected} was read`);
  }
}

/** The push went live, but its history entry could not be written: rollback cannot return to it. */
export class ConfigHistoryError extends Error {
  override name = 'ConfigHistoryError';
  constructor(readonly pushed: ConfigVersion, cause: Error) {
    super(`version ${pushed.version} is live, but its history entry could not be written: ${cause.message}`, { cause });
  }
}

/** The document cannot be kept in Consul KV: it, or its history entry, is over Consul's limit of a value. */
export class ConfigTooLargeError extends Error {
  override name = 'ConfigTooLargeError';
}

export class ConfigVersionNotFoundError extends Error {
  override name = 'ConfigVersionNotFoundError';
  constructor(readonly version: number, readonly kept: readonly number[]) {
    super(`version ${version} is not in the history (kept: ${kept.length > 0 ? kept.join(', ') : 'none'})`);
  }
}

export interface ConfigWatch { close(): void }

// Consul may answer a blocking query at once with no change; never loop faster than this.
const MIN_LOOP_MS = 50;

export class ConfigKv {
  private readonly http: ConsulKvHttp;
  private readonly watches = new Set<ConfigWatch>();

  constructor(private readonly consul: ConsulConfig, readonly key: string, readonly historySize = 10) {
    this.http = new ConsulKvHttp(consul.address, consul.token);
  }

  /** The live document, or undefined when the key does not exist. */
  async read(): Promise<ConfigVersion | undefined> {
    return this.toVersion(await this.http.get(this.key));
  }

  /**
   * Check-and-set: the text goes live only if the live version is still expectedVersion (0: the key must not
   * exist yet), else ConfigConflictError and nothing is written. Then records the history entry and trims
   * the history to historySize.
   */
  push(text: string, expectedVersion: number, by: string): Promise<ConfigVersion> {
    return this.pushText(text, expectedVersion, by, undefined);
  }

  /** Newest first. */
  async history(): Promise<HistoryEntry[]> {
    const versions = await this.historyVersions();
    const read = await Promise.all(versions.map(async (version) => {
      try {
        return await this.historyEntry(version);
      } catch (err) {
        if (err instanceof ConfigValueError) return err;
        throw err;
      }
    }));
    const bad = read.filter((r) => r instanceof ConfigValueError);
    if (bad.length > 0) {
      throw new ConfigValueError(`${bad.map((e) => e.message).join('; ')} (remove a bad entry with: consul kv delete <its key>)`);
    }
    return read.filter((r): r is HistoryEntry => r !== undefined && !(r instanceof Error));
  }

  /** Versions in the history, newest first. */
  async historyVersions(): Promise<number[]> {
    const keys = await this.http.keys(historyPrefix(this.key));
    return keys.map((k) => versionOfHistoryKey(this.key, k)).filter((v) => v !== undefined).sort((a, b) => b - a);
  }

  /** One version in the history; undefined when it is not there (never kept, or trimmed). */
  async historyEntry(version: number): Promise<HistoryEntry | undefined> {
    const key = historyKey(this.key, version);
    const raw = await this.http.get(key);
    if (raw.oversize !== undefined) throw oversizeError(key, raw.oversize, MAX_VALUE_BYTES);
    if (raw.value === undefined) return undefined;
    return parseHistoryEntry(key, version, decodeText(key, raw.value));
  }

  /** Pushes the text of a version in the history again, as a new version (check-and-set like push). */
  async rollback(version: number, expectedVersion: number, by: string): Promise<ConfigVersion> {
    const entry = await this.historyEntry(version);
    if (entry === undefined) throw new ConfigVersionNotFoundError(version, await this.historyVersions());
    return this.pushText(entry.text, expectedVersion, by, version);
  }

  /**
   * Follows the key with blocking queries (ConsulConfig.waitSeconds). onChange gets the first answer unless
   * its hash is knownHash (null: known to be absent), then only answers whose hash differs from the last one
   * reported (undefined: the key is gone). A value that is not a document (not UTF-8, too large) goes to
   * onError once and is otherwise ignored; a failed query goes to onError and is retried after a jittered
   * backoff. failures counts both, in a row.
   */
  watch(
    onChange: (v: ConfigVersion | undefined) => void,
    onError: (err: Error, failures: number) => void,
    knownHash?: string | null,
  ): ConfigWatch {
    const abort = new AbortController();
    const watch: ConfigWatch = { close: () => { this.watches.delete(watch); abort.abort(); } };
    this.watches.add(watch);
    void this.follow(abort.signal, onChange, onError, knownHash);
    return watch;
  }

  close(): void {
    for (const w of [...this.watches]) w.close();
    void this.http.close();
  }

  private async follow(
    signal: AbortSignal,
    onChange: (v: ConfigVersion | undefined) => void,
    onError: (err: Error, failures: number) => void,
    knownHash: string | null | undefined,
  ): Promise<void> {
    let index = 0;
    let lastHash = knownHash;
    let failures = 0;
    let badIndex = -1;
    while (!signal.aborted) {
      const started = Date.now();
      let answer: RawValue;
      try {
        answer = await this.http.get(this.key, { index, waitSeconds: this.consul.waitSeconds, signal });
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        // The next answer may come from a Consul restarted with its index lower: a blocking query on the
        // old index would wait out the whole waitSeconds before saying so.
        index = 0;
        deliver(() => onError(err as Error, failures));
        await pause(jitteredBackoff(failures), signal);
        continue;
      }
      // Per Consul's guidance: an index that goes backwards or is not positive restarts from 0.
      index = answer.index > 0 && answer.index >= index ? answer.index : 0;
      let v: ConfigVersion | undefined;
      try {
        v = this.toVersion(answer);
        failures = 0;
        badIndex = -1;
      } catch (err) {
        // A bad value stays until someone writes the key again: say so once, then wait for that write.
        if (answer.index !== badIndex) {
          badIndex = answer.index;
          failures++;
          deliver(() => onError(err as Error, failures));
        }
      }
      const hash = v?.hash ?? null;
      if (badIndex === -1 && hash !== lastHash) {
        lastHash = hash;
        deliver(() => onChange(v));
      }
      await pause(MIN_LOOP_MS - (Date.now() - started), signal);
    }
  }

  private toVersion(raw: RawValue): ConfigVersion | undefined {
    if (raw.oversize !== undefined) throw oversizeError(this.key, raw.oversize, MAX_VALUE_BYTES, raw.index);
    if (raw.value === undefined) return undefined;
    const text = decodeText(this.key, raw.value, raw.index);
    return { version: raw.index, hash: configHash(text), text };
  }

  private async pushText(text: string, expected: number, by: string, rollbackOf: number | undefined): Promise<ConfigVersion> {
    if (!Number.isSafeInteger(expected) || expected < 0) throw new RangeError(`expectedVersion must be a version or 0, found ${expected}`);
    const hash = configHash(text);
    const entry = (version: number) => JSON.stringify({ version, hash, pushedAt: new Date().toISOString(), by, text, ...(rollbackOf !== undefined && { rollbackOf }) });
    // The history entry holds the text too, and Consul refuses any value over its limit: check the larger
    // one before anything is written, so a document is never live without its way back.
    const size = Buffer.byteLength(entry(Number.MAX_SAFE_INTEGER));
    if (size > MAX_VALUE_BYTES) {
      throw new ConfigTooLargeError(`the document is ${Buffer.byteLength(text)} bytes; with its history entry (${size} bytes) it is over Consul's ${MAX_VALUE_BYTES}-byte limit of a value`);
    }
    const outcome = await this.http.txn([{ KV: { Verb: 'cas', Key: this.key, Value: base64(text), Index: expected } }]);
    if (!outcome.committed) {
      // Consul rolls a transaction back for a lost check-and-set and for a denied write alike: which one it
      // was shows in the live version, not in the wording of its errors.
      const found = await this.liveIndex();
      if (found !== expected) throw new ConfigConflictError(expected, found);
      throw new ConsulKvError(`Consul refused the push to ${this.key}: ${outcome.errors.join('; ')}`);
    }
    const pushed = { version: outcome.modifyIndexes[0]!, hash, text };
    try {
      await this.record(pushed.version, entry(pushed.version));
    } catch (err) {
      throw new ConfigHistoryError(pushed, err as Error);
    }
    return pushed;
  }

  /** The live key's ModifyIndex, 0 when it does not exist (whatever its value holds). */
  private async liveIndex(): Promise<number> {
    const raw = await this.http.get(this.key);
    return raw.value === undefined && raw.oversize === undefined ? 0 : raw.index;
  }

  /** Writes one history entry and deletes the oldest beyond historySize, in as few transactions as Consul allows. */
  private async record(version: number, entry: string): Promise<void> {
    const versions = [...new Set([version, ...await this.historyVersions()])].sort((a, b) => b - a);
    const ops: TxnOp[] = [
      { KV: { Verb: 'set', Key: historyKey(this.key, version), Value: base64(entry) } },
      ...versions.slice(this.historySize).map((v): TxnOp => ({ KV: { Verb: 'delete', Key: historyKey(this.key, v) } })),
    ];
    for (let i = 0; i < ops.length; i += TXN_MAX_OPS) {
      const outcome = await this.http.txn(ops.slice(i, i + TXN_MAX_OPS));
      if (!outcome.committed) throw new ConsulKvError(`Consul refused the history transaction: ${outcome.errors.join('; ')}`);
    }
  }
}

/**
 * Runs a watcher's callback; one that throws must not end the watch. Its error becomes an unhandled
 * rejection, which the tiers log (shared/main.ts) instead of it vanishing here.
 */
function deliver(callback: () => void): void {
  try {
    callback();
  } catch (err) {
    void Promise.reject(err);
  }
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Resolves after ms, or at once when the watch closes. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done);
  });
}
