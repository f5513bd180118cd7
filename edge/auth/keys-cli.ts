// Operator tool for API keys: create, list, revoke. It prints a key exactly
// once, at creation; list and errors never show one, and a Redis password in
// the URL is masked in every message.
import { parseArgs } from 'node:util';
import { runTool, toolRedisUrl, UsageError } from './admin-cli.js';
import { ApiKeyStore, type ApiKeyRecord, type NewApiKey } from './api-key-store.js';

const USAGE = `usage:
  keys-cli create --consumer NAME --scopes SCOPE[,SCOPE...] [--label KEY=VALUE]...
  keys-cli list [--consumer NAME] [--json]
  keys-cli revoke ID
options for every command:
  --redis URL      default: $GATEHOUSE_REDIS_URL, else redis://127.0.0.1:6379
  --prefix PREFIX  key prefix in Redis (default: gatehouse:)`;

const ALLOWED: Record<string, readonly string[]> = {
  create: ['consumer', 'scopes', 'label'],
  list: ['consumer', 'json'],
  revoke: [],
};


type Command =
  | { readonly command: 'create'; readonly input: NewApiKey }
  | { readonly command: 'list'; readonly consumer: string | undefined; readonly json: boolean }
  | { readonly command: 'revoke'; readonly id: string };

/** Everything is checked before Redis is touched, so bad usage is exit 2 even with Redis down. */
function parse(argv: string[]): Command & { url: string; prefix: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        consumer: { type: 'string' }, scopes: { type: 'string' }, label: { type: 'string', multiple: true },
        json: { type: 'boolean' }, redis: { type: 'string' }, prefix: { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals: [command, ...rest] } = parsed;
  const allowed = command !== undefined && Object.hasOwn(ALLOWED, command) ? ALLOWED[command] : undefined;
  if (!allowed) throw new UsageError(command === undefined ? 'no command given' : `unknown command ${command}`);
  const stray = Object.keys(values).find((o) => o !== 'redis' && o !== 'prefix' && !allowed.includes(o));
  if (stray) throw new UsageError(`--${stray} does not apply to ${command}`);
  if (rest.length !== (command === 'revoke' ? 1 : 0)) throw new UsageError(command === 'revoke' ? 'revoke takes one key id' : `unexpected argument ${rest[0]}`);
  const url = toolRedisUrl(values.redis);
  const common = { url, prefix: values.prefix ?? 'gatehouse:' };
  if (command === 'revoke') return { command, id: rest[0]!, ...common };
  if (command === 'list') return { command, consumer: values.consumer, json: values.json ?? false, ...common };
  if (!values.consumer || /\s/.test(values.consumer)) throw new UsageError('create needs --consumer NAME (no whitespace)');
  return { command: 'create', input: { consumer: values.consumer, scopes: scopesOf(values.scopes), labels: labelsOf(values.label) }, ...common };
}

function scopesOf(value: string | undefined): string[] {
  const scopes = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (scopes.length === 0 || scopes.some((s) => /\s/.test(s))) throw new UsageError('create needs --scopes SCOPE[,SCOPE...] (no whitespace in a scope)');
  return scopes;
}

function labelsOf(values: string[] = []): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--label must be KEY=VALUE, found ${JSON.stringify(pair)}`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

function table(records: readonly ApiKeyRecord[]): string {
  const rows = [['ID', 'CONSUMER', 'SCOPES', 'STATUS', 'CREATED'], ...records.map((r) => [r.id, r.consumer, r.scopes.join(','), r.status, r.createdAt])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function run(args: Command, store: ApiKeyStore): Promise<number> {
  if (args.command === 'create') {
    const { key, record } = await store.create(args.input);
    console.log(`Created API key ${record.id} for consumer ${record.consumer} (scopes: ${record.scopes.join(' ')})\n\n  ${key}\n\n` +
      'This is the only time the key is shown: only its hash is stored. Keep it somewhere safe now.');
    return 0;
  }
  if (args.command === 'list') {
    const records = await store.list(args.consumer);
    console.log(args.json ? JSON.stringify(records, null, 2) : table(records));
    return 0;
  }
  if (await store.revoke(args.id)) {
    console.log(`Revoked API key ${args.id}; every edge refuses it within a second.`);
    return 0;
  }
  console.error(`keys-cli: no API key with id ${args.id}`);
  return 1;
}

process.exitCode = await runTool('keys-cli', USAGE, parse, (args, redis) => run(args, new ApiKeyStore(redis, args.prefix)));
