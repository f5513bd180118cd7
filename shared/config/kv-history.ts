// What one version of the config document looks like in Consul KV: the live key's text and its hash, and
// the history entry kept under <key>/history/<version, 20 digits>. Checks what Consul hands back instead
// of trusting it: a value that is not UTF-8, too large or not an entry is an error that names its key.
import { createHash } from 'node:crypto';

export interface ConfigVersion {
  /** The live key's ModifyIndex when this text was written. */
  readonly version: number;
  /** sha256 of the text (UTF-8), hex. */
  readonly hash: string;
  readonly text: string;
}

export interface HistoryEntry {
  readonly version: number;
  readonly hash: string;
  /** ISO 8601 time of the push. */
  readonly pushedAt: string;
  /** Who pushed it (the CLI's --by, user@host by default). */
  readonly by: string;
  readonly text: string;
  /** Set when this version was a rollback: the version whose text it pushed again. */
  readonly rollbackOf?: number;
}

/** A value in Consul that is not what Gatehouse wrote there: not UTF-8, too large, or not a history entry. */
export class ConfigValueError extends Error {
  override name = 'ConfigValueError';
  /** version: the live key's ModifyIndex, when the bad value is the live one (a push with it replaces the value). */
  constructor(message: string, readonly version?: number) {
    super(message);
  }
}

export function configHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function historyPrefix(key: string): string {
  return `${key}/history/`;
}

export function historyKey(key: string, version: number): string {
  return `${historyPrefix(key)}${String(version).padStart(20, '0')}`;
}

/** The version a history key names, or undefined for any other key under the prefix. */
export function versionOfHistoryKey(key: string, candidate: string): number | undefined {
  const rest = candidate.startsWith(historyPrefix(key)) ? candidate.slice(historyPrefix(key).length) : '';
  return /^\d{20}$/.test(rest) ? Number(rest) : undefined;
}

// Byte for byte: a byte-order mark stays part of the text, so the hash is of what Consul holds.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeText(key: string, bytes: Buffer, version?: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ConfigValueError(`${key}: the value is not UTF-8 text (${bytes.length} bytes); it was not written by gatehouse's config tool`, version);
  }
}

export function oversizeError(key: string, size: number, limit: number, version?: number): ConfigValueError {
  return new ConfigValueError(`${key}: the value is ${size} bytes or more, over the ${limit}-byte limit of a config document`, version);
}

/** A history entry read back: every field present and typed, the key's version and the text's hash agreeing. */
export function parseHistoryEntry(key: string, version: number, text: string): HistoryEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigValueError(`${key}: not a history entry: not JSON (${(err as Error).message})`);
  }
  const e = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const wrong = [
    e.version !== version && `version ${JSON.stringify(e.version)} (the key says ${version})`,
    (typeof e.hash !== 'string' || !/^[0-9a-f]{64}$/.test(e.hash)) && 'hash',
    (typeof e.pushedAt !== 'string' || Number.isNaN(Date.parse(e.pushedAt))) && 'pushedAt',
    typeof e.by !== 'string' && 'by',
    typeof e.text !== 'string' && 'text',
    e.rollbackOf !== undefined && !Number.isSafeInteger(e.rollbackOf) && 'rollbackOf',
  ].filter(Boolean);
  if (wrong.length > 0) throw new ConfigValueError(`${key}: not a history entry: missing or wrong ${wrong.join(', ')}`);
  if (configHash(e.text as string) !== e.hash) throw new ConfigValueError(`${key}: not a history entry: its text does not have its hash`);
  return {
    version,
    hash: e.hash as string,
    pushedAt: e.pushedAt as string,
    by: e.by as string,
    text: e.text as string,
    ...(e.rollbackOf !== undefined && { rollbackOf: e.rollbackOf as number }),
  };
}
