// `npm run config -- validate|diff|push|history|rollback`: the operator's tool for the config document in
// Consul KV. Every document is validated by the tiers' own loader before it can go live, and every push is a
// check-and-set against the version the operator saw. Never prints the Consul token.
import { dirname, resolve } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { Value } from '@sinclair/typebox/value';
import { ConfigError, parseConfig } from './load.js';
import type { Config } from './schema.js';
import { ConsulSchema, type ConsulConfig } from '../shared/config/schema.js';
import type { Env } from '../shared/config/env.js';
import { readConfigText } from '../shared/config/load.js';
import {
  ConfigConflictError, ConfigHistoryError, ConfigKv, ConfigTooLargeError, ConfigValueError, ConsulKvError, configHash, type ConfigVersion,
} from '../shared/config/kv-store.js';
import { EXIT, USAGE, UsageError, parseCli, type CliArgs } from './cli-args.js';

const NAME = 'gatehouse config';
const short = (hash: string) => hash.slice(0, 12);

/** A file read and validated like the tiers' start-up does. */
interface Checked { readonly path: string; readonly text: string; readonly hash: string; readonly config: Readonly<Config> }

class Refused extends Error {
  constructor(message: string, readonly code: number) { super(message); }
}

function check(path: string, env: Env): Checked {
  const { file, text } = readConfigText(path);
  return { path, text, hash: configHash(text), config: parseConfig(text, file, env) };
}

/** The Consul settings and key: the file's, overridden by --consul and --key. */
function store(args: CliArgs, config: Readonly<Config> | undefined, env: Env): ConfigKv {
  const consul: ConsulConfig = {
    ...(config?.consul ?? Value.Create(ConsulSchema)),
    ...(config === undefined && env.GATEHOUSE_CONSUL_TOKEN && { token: env.GATEHOUSE_CONSUL_TOKEN }),
    ...(args.consul !== undefined && { address: args.consul }),
  };
  const key = args.key ?? config?.config.consul?.key;
  if (key === undefined) throw new UsageError(`no Consul key: set config.consul.key in ${args.file}, or pass --key`);
  return new ConfigKv(consul, key, config?.config.consul?.historySize);
}

function describeLive(kv: ConfigKv, live: ConfigVersion | undefined): string {
  return live === undefined ? `consul:${kv.key} (absent)` : `consul:${kv.key} version ${live.version}`;
}

async function diff(args: CliArgs, env: Env, out: (s: string) => void): Promise<number> {
  const file = check(args.file, env);
  const kv = store(args, file.config, env);
  try {
    const live = await kv.read();
    if (live?.hash === file.hash) {
      out(`no changes against version ${live.version}`);
      return EXIT.ok;
    }
    out(createTwoFilesPatch(describeLive(kv, live), file.path, live?.text ?? '', file.text).trimEnd());
    return EXIT.differs;
  } finally {
    kv.close();
  }
}

async function push(args: CliArgs, env: Env, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const file = check(args.file, env);
  const kv = store(args, file.config, env);
  try {
    const live = await readReplacing(kv, args);
    const expected = expectedVersion(args, live);
    if (live?.hash === file.hash) {
      out(`no changes against version ${live.version}; nothing pushed`);
      return EXIT.ok;
    }
    const pushed = await kv.push(file.text, expected, args.by);
    out(`pushed ${file.path} to consul:${kv.key} as version ${pushed.version} (sha256 ${short(pushed.hash)})`);
    // The whole file is the document: a token written in it is now readable by whoever may read the key.
    if (file.config.consul?.token !== undefined && file.config.consul.token !== env.GATEHOUSE_CONSUL_TOKEN) {
      err(`${NAME}: warning: ${file.path} holds consul.token, now stored in consul:${kv.key} and its history; prefer GATEHOUSE_CONSUL_TOKEN`);
    }
    return EXIT.ok;
  } finally {
    kv.close();
  }
}

async function history(args: CliArgs, env: Env, out: (s: string) => void): Promise<number> {
  const kv = store(args, settingsFile(args, env), env);
  try {
    const [entries, live] = await Promise.all([kv.history(), kv.read()]);
    if (entries.length === 0) out(`no history under consul:${kv.key}/history/`);
    else {
      const rows = [['', 'VERSION', 'PUSHED AT', 'BY', 'SHA256', ''], ...entries.map((e) => [
        e.version === live?.version ? '*' : '', String(e.version), e.pushedAt, e.by, short(e.hash), e.rollbackOf === undefined ? '' : `rollback to ${e.rollbackOf}`,
      ])];
      out(table(rows));
    }
    if (live === undefined) out(`the key consul:${kv.key} does not exist: nothing is live`);
    else if (!entries.some((e) => e.version === live.version)) out(`live: version ${live.version} (sha256 ${short(live.hash)}), not in the history: it was written without this tool`);
    return EXIT.ok;
  } finally {
    kv.close();
  }
}

async function rollback(args: CliArgs, env: Env, out: (s: string) => void): Promise<number> {
  const kv = store(args, settingsFile(args, env), env);
  try {
    const version = args.version!;
    const [entry, live] = await Promise.all([kv.historyEntry(version), readReplacing(kv, args)]);
    if (entry === undefined) {
      const kept = await kv.historyVersions();
      throw new Refused(`version ${version} is not in the history of consul:${kv.key} (kept: ${kept.length > 0 ? kept.join(', ') : 'none'})`, EXIT.refused);
    }
    const expected = expectedVersion(args, live);
    // An old version was valid under the schema of its day; today's tiers would refuse it all the same.
    parseConfig(entry.text, `consul:${kv.key} version ${version}`, env, dirname(resolve(args.file)));
    if (live?.hash === entry.hash) {
      out(`version ${version}'s text is what is live (version ${live.version}); nothing pushed`);
      return EXIT.ok;
    }
    const pushed = await kv.rollback(version, expected, args.by);
    out(`rolled consul:${kv.key} back to version ${version}'s text as version ${pushed.version} (sha256 ${short(pushed.hash)})`);
    return EXIT.ok;
  } finally {
    kv.close();
  }
}

/**
 * The live document; a live value that is not one (written by hand, not UTF-8, too large) can be replaced only
 * by naming its version with --expect, so that nobody overwrites it without having looked.
 */
async function readReplacing(kv: ConfigKv, args: CliArgs): Promise<ConfigVersion | undefined> {
  try {
    return await kv.read();
  } catch (e) {
    if (!(e instanceof ConfigValueError) || e.version === undefined) throw e;
    // An empty hash matches no text: what follows goes ahead and replaces the value.
    if (args.expect === e.version) return { version: e.version, hash: '', text: '' };
    throw new ConfigValueError(`${e.message}; to replace it, run again with --expect ${e.version}`, e.version);
  }
}

/** --expect, else the version just read; a live version other than --expect is refused before any write. */
function expectedVersion(args: CliArgs, live: ConfigVersion | undefined): number {
  const found = live?.version ?? 0;
  if (args.expect !== undefined && args.expect !== found) throw new ConfigConflictError(args.expect, found);
  return args.expect ?? found;
}

/** history and rollback read only Consul's settings from the file: with --consul and --key they need none. */
function settingsFile(args: CliArgs, env: Env): Readonly<Config> | undefined {
  return args.consul !== undefined && args.key !== undefined ? undefined : check(args.file, env).config;
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function main(argv: readonly string[], env: Env, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  try {
    const args = parseCli(argv, env);
    if (args === undefined) {
      out(USAGE);
      return EXIT.ok;
    }
    switch (args.command) {
      case 'validate': {
        const file = check(args.file, env);
        out(`ok: ${file.path} (sha256 ${short(file.hash)})`);
        return EXIT.ok;
      }
      case 'diff': return await diff(args, env, out);
      case 'push': return await push(args, env, out, err);
      case 'history': return await history(args, env, out);
      case 'rollback': return await rollback(args, env, out);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${NAME}: ${e.message}\n${USAGE}`);
      return EXIT.refused;
    }
    if (e instanceof ConfigError || e instanceof ConfigTooLargeError) {
      err(`${NAME}: ${e.message}`);
      return EXIT.refused;
    }
    if (e instanceof Refused) {
      err(`${NAME}: ${e.message}`);
      return e.code;
    }
    if (e instanceof ConfigConflictError) {
      err(`${NAME}: ${e.found === 0 ? `the key was deleted after you read version ${e.expected}` : `someone pushed version ${e.found} after you read ${e.expected === 0 ? 'that the key did not exist' : e.expected}`}; run diff again. Nothing was written.`);
      return EXIT.conflict;
    }
    // Consul unreachable or refusing, holding something that is not a document, or failing half a push.
    if (e instanceof ConsulKvError || e instanceof ConfigValueError || e instanceof ConfigHistoryError) {
      err(`${NAME}: ${e.message}`);
      return EXIT.consul;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2), process.env, (s) => process.stdout.write(`${s}\n`), (s) => process.stderr.write(`${s}\n`));
