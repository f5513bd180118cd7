// The mechanics of loading a YAML config, whatever its schema: parse, apply environment overrides,
// validate against the schema it is given, report every problem at once like a compiler (file:line:col,
// field path, expected, found), then freeze it. Nothing downstream re-checks. Never import a tier or the
// composed schema here: config/load.ts hands this the whole-file schema and its cross-checks.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { applyEnvOverrides, type Env } from './env.js';
import { isSecretField, REDACTED } from './redact.js';
import type { Problem } from './policy-schema.js';

export type { Problem };

/** What makes a loader of one config shape: its schema, the checks across fields, and its file paths to resolve. */
export interface ConfigShape<C> {
  readonly schema: TSchema;
  readonly crossCheck: (config: C) => Problem[];
  /** Makes file paths in the config absolute, relative to the config file's directory. */
  readonly resolveFiles: (config: C, dir: string) => void;
}

export interface ConfigLoader<C> {
  loadConfigFile(path: string, env?: Env): Readonly<C>;
  /** file names the document in messages; relative paths in it resolve against baseDir (default: file's directory). */
  parseConfig(text: string, file: string, env?: Env, baseDir?: string): Readonly<C>;
}

export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: readonly string[]) {
    super(`invalid config ${file}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

// Two validators. Ajv's allErrors code generation adds thousands of distinct property names to
// fresh objects, which overflows V8's transition table of the empty object literal for the rest of
// the process: from then on every object built from {} by adding properties (Node's own tick
// objects and header objects among them) takes V8's slow path, measured at 40x per object and
// about a tenth of a tier's CPU per request. A valid config, the normal case, is checked by the plain
// validator; the all-errors one is compiled only to report a config that failed. Compiling it
// still leaves that mark: a tier that one day reloads its config while serving should check a
// candidate in a worker thread (its own V8 heap), not in the serving process.
const ajvOptions = { useDefaults: true, strict: false, verbose: true } as const;

export function createConfigLoader<C>(shape: ConfigShape<C>): ConfigLoader<C> {
  const validate = new Ajv(ajvOptions).compile<C>(shape.schema);
  let reportAll: typeof validate | undefined;

  function loadConfigFile(path: string, env: Env = process.env): Readonly<C> {
    const { file, text } = readConfigText(path);
    return parseConfig(text, file, env);
  }

  function parseConfig(text: string, file: string, env: Env = {}, baseDir = dirname(file)): Readonly<C> {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(file, doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return `${at ? `line ${at.line}:${at.col}: ` : ''}YAML syntax: ${e.message.split('\n')[0]}`;
      }));
    }
    const raw: unknown = doc.toJS() ?? {};
    const envProblems: string[] = [];
    const data = applyEnvOverrides(raw, env, envProblems);
    if (envProblems.length > 0) throw new ConfigError(file, envProblems);
    if (!validate(data)) {
      reportAll ??= new Ajv({ ...ajvOptions, allErrors: true }).compile<C>(shape.schema);
      reportAll(data);
      throw new ConfigError(file, mergeChoices(dedupe(reportAll.errors ?? validate.errors ?? [])).map((e) => describe(e, doc, lines)));
    }
    const problems = shape.crossCheck(data);
    if (problems.length > 0) {
      throw new ConfigError(file, problems.map((p) => `${where(p.path, doc, lines)}${fieldName(p.path)}: ${p.message}`));
    }
    shape.resolveFiles(data, baseDir);
    return deepFreeze(data);
  }

  return { loadConfigFile, parseConfig };
}

/** A config file's absolute path and text; a file that cannot be read is a ConfigError like any other problem. */
export function readConfigText(path: string): { file: string; text: string } {
  const file = resolve(path);
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
}

/** Ajv reports "required" and "additionalProperties" once per branch; keep one line per field. */
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A union of literals (an algorithm, a mode) fails once per literal and once more as a whole; the reader
 * needs one line: the values allowed. Each field's "const" failures become one "enum" error in their place.
 */
function mergeChoices(errors: ErrorObject[]): ErrorObject[] {
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword === 'const') allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), (e.params as { allowedValue: unknown }).allowedValue]);
  }
  if (allowed.size === 0) return errors;
  const out: ErrorObject[] = [];
  for (const e of errors) {
    const values = allowed.get(e.instancePath);
    if (values === undefined || (e.keyword !== 'const' && e.keyword !== 'anyOf')) out.push(e);
    else if (e.keyword === 'const' && values[0] === (e.params as { allowedValue: unknown }).allowedValue) {
      out.push({ ...e, keyword: 'enum', parentSchema: undefined, message: `one of ${values.map((v) => JSON.stringify(v)).join(', ')}` });
    }
  }
  return out;
}

function describe(e: ErrorObject, doc: Document, lines: LineCounter): string {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${where(path, doc, lines)}${fieldName([...path, String(p.missingProperty)])}: is required but missing`;
    case 'additionalProperties':
      return `${where(path, doc, lines)}${fieldName([...path, String(p.additionalProperty)])}: unknown field (check the spelling; see docs/configuration.md)`;
    default: {
      const found = doc.getIn(path);
      const expected = (e.parentSchema as { description?: string } | undefined)?.description;
      // The message reaches logs and /config/status: a secret field's wrong value is never echoed.
      const shown = isSecretField(path[path.length - 1] ?? '') ? REDACTED : show(found);
      return `${where(path, doc, lines)}${fieldName(path)}: expected ${expected ?? e.message ?? e.keyword}${expected ? ` (${e.message})` : ''}, found ${shown}`;
    }
  }
}

function pointerToPath(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function fieldName(path: readonly string[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function where(path: readonly string[], doc: Document, lines: LineCounter): string {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lines.linePos(node.range[0]);
      return `line ${pos.line}:${pos.col}: `;
    }
  }
  return '';
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
