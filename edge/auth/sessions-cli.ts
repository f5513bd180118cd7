// Operator tool for sessions: revoke one by its id, or every session of a
// consumer. It never prints a session id, and a Redis password in the URL is
// masked in every message.
import { parseArgs } from 'node:util';
import { runTool, toolRedisUrl, UsageError } from './admin-cli.js';
import { SessionStore } from './session-store.js';

const USAGE = `usage:
  sessions-cli revoke-consumer CONSUMER
  sessions-cli revoke SESSION-ID
options:
  --redis URL      default: $GATEHOUSE_REDIS_URL, else redis://127.0.0.1:6379
  --prefix PREFIX  key prefix in Redis (default: gatehouse:)`;

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;


interface Command {
  readonly command: 'revoke' | 'revoke-consumer';
  /** A session id or a consumer name, as the command says. */
  readonly target: string;
  readonly url: string;
  readonly prefix: string;
}

/** A session id may start with '-' (one in 64 do): it is moved behind '--' so it is never read as an option. */
function sessionIdsLast(argv: readonly string[]): string[] {
  if (argv.includes('--')) return [...argv];
  const ids = argv.filter((a) => a.startsWith('-') && SESSION_ID.test(a));
  return ids.length === 0 ? [...argv] : [...argv.filter((a) => !ids.includes(a)), '--', ...ids];
}

/** Everything is checked before Redis is touched, so bad usage is exit 2 even with Redis down. */
function parse(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: sessionIdsLast(argv), allowPositionals: true, options: { redis: { type: 'string' }, prefix: { type: 'string' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals: [command, ...rest] } = parsed;
  if (command !== 'revoke' && command !== 'revoke-consumer') throw new UsageError(command === undefined ? 'no command given' : `unknown command ${command}`);
  const what = command === 'revoke' ? 'one session id' : 'one consumer';
  if (rest.length !== 1 || rest[0] === '') throw new UsageError(`${command} takes ${what}`);
  // Not echoed: what was given may be a real session id with a typo.
  if (command === 'revoke' && !SESSION_ID.test(rest[0]!)) throw new UsageError('a session id is 43 characters of A-Z a-z 0-9 _ -');
  const url = toolRedisUrl(values.redis);
  return { command, target: rest[0]!, url, prefix: values.prefix ?? 'gatehouse:' };
}

async function run(args: Command, store: SessionStore): Promise<number> {
  if (args.command === 'revoke-consumer') {
    const n = await store.revokeConsumer(args.target);
    console.log(`Revoked ${n} session${n === 1 ? '' : 's'} of consumer ${args.target}; every edge refuses them from now on.`);
    return 0;
  }
  if (await store.revoke(args.target)) {
    console.log('Revoked the session; every edge refuses it from now on.');
    return 0;
  }
  console.error('sessions-cli: no live session has that id');
  return 1;
}

process.exitCode = await runTool('sessions-cli', USAGE, parse, (args, redis) => run(args, new SessionStore(redis, args.prefix)));
