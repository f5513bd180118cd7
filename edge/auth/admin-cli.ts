// What the operator tools (keys-cli, sessions-cli) share: parse, connect to
// Redis once and briefly, say plainly what failed, and exit with 2 for bad
// usage, 1 for a failure, 0 for success. Never prints a password.
import { Redis } from 'ioredis';

export interface ToolArgs {
  readonly url: string;
  readonly prefix: string;
}

export class UsageError extends Error {}

/** --redis, else GATEHOUSE_REDIS_URL, else the local default. */
export function toolRedisUrl(given: string | undefined): string {
  const url = given ?? process.env.GATEHOUSE_REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(url)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, found ${maskedRedisUrl(url)}`);
  return url;
}

export function maskedRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export async function runTool<A extends ToolArgs>(name: string, usage: string, parse: (argv: string[]) => A, run: (args: A, redis: Redis) => Promise<number>): Promise<number> {
  let args: A;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${name}: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  // An operator tool: try once, briefly, and say so, rather than retry forever.
  const redis = new Redis(args.url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause: Error | undefined;
  redis.on('error', (err: Error) => { cause ??= err; });
  try {
    await redis.connect();
  } catch (err) {
    // No disconnect(): the connection has ended, and ioredis would arm a 2 s
    // timer waiting for a close that already happened.
    console.error(`${name}: cannot reach Redis at ${maskedRedisUrl(args.url)}: ${(cause ?? (err as Error)).message}`);
    return 1;
  }
  try {
    return await run(args, redis);
  } catch (err) {
    console.error(`${name}: ${(err as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}
