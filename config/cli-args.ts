// The config CLI's command line: which command, which file, which Consul and key, checked before anything
// is read or sent, so bad usage is exit 2 even with Consul down. Knows nothing of Consul itself.
import { parseArgs } from 'node:util';
import { hostname, userInfo } from 'node:os';
import { configPath, type Env } from '../shared/config/env.js';
import { LiveConfigSchema } from '../shared/config/schema.js';

const KEY_PATTERN = new RegExp(LiveConfigSchema.properties.consul.properties.key.pattern!);

export const EXIT = { ok: 0, differs: 1, refused: 2, conflict: 3, consul: 4 } as const;

export const USAGE = `usage: npm run config -- COMMAND [options]

commands:
  validate [FILE]     check a config file exactly as the tiers do at start
  diff                show what push would change in the live document (Consul KV)
  push                validate the file, then make it the live document with check-and-set
  history             the versions kept in Consul, newest first (* marks the live one)
  rollback VERSION    validate that version's text with today's schema, then push it again as a new version

options:
  -c, --file PATH     the config file (default: $GATEHOUSE_CONFIG, else gatehouse.yaml); Consul's address
                      and token and config.consul.key are read from it too
  --consul ADDR       Consul HTTP address, instead of the file's consul.address
  --key KEY           the Consul KV key, instead of the file's config.consul.key
  --expect VERSION    push, rollback: go ahead only if VERSION is still live (default: the version live
                      when the command starts; 0: only if the key does not exist yet)
  --by NAME           push, rollback: who pushes, kept in the history (default: $USER@host)
  -h, --help          this text
  With both --consul and --key, history and rollback do not need the file (the token then comes from
  $GATEHOUSE_CONSUL_TOKEN).

exit codes:
  0  done; diff: no changes
  1  diff: the file differs from the live document
  2  refused, nothing written: bad usage, an invalid file or version, a version not in the history
  3  someone pushed after the version you expected: nothing written; run diff again
  4  Consul unreachable or its answer unusable (after a push, the message says what went live)`;

export class UsageError extends Error {}

export type CliArgs = Readonly<{
  command: 'validate' | 'diff' | 'push' | 'history' | 'rollback';
  file: string;
  consul: string | undefined;
  key: string | undefined;
  expect: number | undefined;
  by: string;
  /** rollback's VERSION. */
  version: number | undefined;
}>;

const COMMANDS: Record<CliArgs['command'], { readonly options: readonly string[]; readonly positionals: readonly string[] }> = {
  validate: { options: [], positionals: ['FILE'] },
  diff: { options: [], positionals: [] },
  push: { options: ['expect', 'by'], positionals: [] },
  history: { options: [], positionals: [] },
  rollback: { options: ['expect', 'by'], positionals: ['VERSION'] },
};
const COMMON = ['file', 'consul', 'key', 'help'];

/** undefined: --help. */
export function parseCli(argv: readonly string[], env: Env): CliArgs | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        file: { type: 'string', short: 'c' }, consul: { type: 'string' }, key: { type: 'string' },
        expect: { type: 'string' }, by: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals: [command, ...rest] } = parsed;
  if (values.help) return undefined;
  if (command === undefined) throw new UsageError('no command given');
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command ${command}`);
  const spec = COMMANDS[command as CliArgs['command']];
  const stray = Object.keys(values).find((o) => !COMMON.includes(o) && !spec.options.includes(o));
  if (stray) throw new UsageError(`--${stray} does not apply to ${command}`);
  if (rest.length > spec.positionals.length) throw new UsageError(`unexpected argument ${rest[spec.positionals.length]}`);
  if (command === 'rollback' && rest.length === 0) throw new UsageError('rollback needs the VERSION to return to (see history)');
  if (command === 'validate' && rest[0] !== undefined && values.file !== undefined) throw new UsageError('give the file once: validate FILE or --file FILE');
  if (values.consul !== undefined && !/^https?:\/\/[^/?#\s]+\/?$/.test(values.consul)) throw new UsageError(`--consul must be an http(s) origin such as http://127.0.0.1:8500, found ${JSON.stringify(values.consul)}`);
  if (values.key !== undefined && !KEY_PATTERN.test(values.key)) throw new UsageError(`--key must be a Consul key such as gatehouse/config, found ${JSON.stringify(values.key)}`);
  if (values.by !== undefined && values.by.trim() === '') throw new UsageError('--by needs a name');
  const file = command === 'validate' && rest[0] !== undefined ? rest[0] : values.file;
  return {
    command: command as CliArgs['command'],
    file: configPath(file === undefined ? [] : ['--config', file], env, 'gatehouse.yaml'),
    consul: values.consul,
    key: values.key,
    expect: values.expect === undefined ? undefined : version('--expect', values.expect, 0),
    by: values.by ?? `${env.USER || userInfo().username}@${hostname()}`,
    version: command === 'rollback' ? version('VERSION', rest[0]!, 1) : undefined,
  };
}

function version(what: string, text: string, min: number): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${what} must be a version number${min === 0 ? ' (or 0)' : ''}, found ${JSON.stringify(text)}`);
  return n;
}
