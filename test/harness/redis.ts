// A real redis-server on a free loopback port, stoppable and restartable on
// the same port so outage tests see what production would.
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { DevCertificates } from '../../shared/tls/dev-certs.js';
import { redisServerBinary } from './binaries.js';
import { freePort, waitFor, GiveUp } from './ports.js';
import { spawnOwned, type Owned } from './process.js';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** The running server's pid, if one runs. */
  pid(): number | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function pingable(port: number, tls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    // Only that it answers: trusting its certificate is the client's test, not the harness's.
    const s = tls ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : createConnection({ host: '127.0.0.1', port });
    s.once(tls ? 'secureConnect' : 'connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { resolve(d.toString().startsWith('+PONG')); s.destroy(); });
    s.on('error', () => resolve(false));
  });
}

/** With certificates: TLS only (no plain port), clients not asked for a certificate. */
function serverArgs(port: number, tls: DevCertificates | undefined): string[] {
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'];
  if (tls === undefined) return ['--port', String(port), ...common];
  return ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no', ...common];
}

async function launch(bin: string, port: number, tls: DevCertificates | undefined): Promise<Owned> {
  const proc = spawnOwned(bin, serverArgs(port, tls));
  try {
    await waitFor(`redis-server on port ${port}`, async () => {
      if (proc.child.exitCode !== null) throw new GiveUp(`redis-server exited: ${proc.output().trim().split('\n').pop()}`);
      return (await pingable(port, tls !== undefined)) || undefined;
    }, 10_000);
    return proc;
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
}

export async function startRedis(tls?: DevCertificates): Promise<TestRedis> {
  const bin = redisServerBinary();
  let port = 0;
  let proc: Owned | undefined;
  // A free port can be taken by a parallel test between probing and binding: try another.
  for (let attempt = 1; proc === undefined; attempt++) {
    port = await freePort();
    try {
      proc = await launch(bin, port, tls);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  return {
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    pid: () => proc?.child.pid,
    start: async () => { proc = await launch(bin, port, tls); },
    stop: async () => { await proc?.stop('SIGKILL'); },
  };
}
