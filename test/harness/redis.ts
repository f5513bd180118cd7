// A real redis-server on a free loopback port, stoppable and restartable on
// the same port so outage tests see what production would.
import { createConnection } from 'node:net';
import { redisServerBinary } from './binaries.js';
import { freePort, waitFor } from './ports.js';
import { spawnOwned, type Owned } from './process.js';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function pingable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    s.on('data', (d) => { resolve(d.toString().startsWith('+PONG')); s.destroy(); });
    s.on('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<TestRedis> {
  const bin = redisServerBinary();
  const port = await freePort();
  let proc: Owned | undefined;
  const start = async () => {
    proc = spawnOwned(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes']);
    await waitFor(`redis-server on port ${port} (${proc.output()})`, async () => (await pingable(port)) || undefined, 10_000);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop: async () => { await proc?.stop('SIGKILL'); },
  };
}
