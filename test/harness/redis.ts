// A real redis-server on a free loopback port, stoppable and restartable on
// the same port so outage tests see what production would.
import { createConnection } from 'node:net';
import { redisServerBinary } from './binaries.js';
import { freePort, waitFor, GiveUp } from './ports.js';
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

async function launch(bin: string, port: number): Promise<Owned> {
  const proc = spawnOwned(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes']);
  try {
    await waitFor(`redis-server on port ${port}`, async () => {
      if (proc.child.exitCode !== null) throw new GiveUp(`redis-server exited: ${proc.output().trim().split('\n').pop()}`);
      return (await pingable(port)) || undefined;
    }, 10_000);
    return proc;
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
}

export async function startRedis(): Promise<TestRedis> {
  const bin = redisServerBinary();
  let port = 0;
  let proc: Owned | undefined;
  // A free port can be taken by a parallel test between probing and binding: try another.
  for (let attempt = 1; proc === undefined; attempt++) {
    port = await freePort();
    try {
      proc = await launch(bin, port);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start: async () => { proc = await launch(bin, port); },
    stop: async () => { await proc?.stop('SIGKILL'); },
  };
}
