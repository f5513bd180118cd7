// A real Consul agent in -dev mode on free loopback ports, and the few HTTP
// API calls the tests make to register, deregister and flip the health of
// backend instances (TTL checks, as a real service's own heartbeat would).
import { consulBinary } from './binaries.js';
import { freePort, waitFor, GiveUp } from './ports.js';
import { spawnOwned, type Owned } from './process.js';

export interface Registration {
  readonly id: string;
  readonly name: string;
  readonly port: number;
  readonly address?: string;
  readonly tags?: readonly string[];
  /** null leaves Meta out of the registration, so Consul answers Meta: null. */
  readonly meta?: Record<string, string> | null;
  readonly weight?: number;
  /** Registers a TTL check that starts passing, so a test can later fail it. */
  readonly ttlCheck?: boolean;
}

export interface TestConsul {
  readonly address: string;
  /** The running agent's pid, if one runs. */
  pid(): number | undefined;
  register(r: Registration): Promise<void>;
  deregister(id: string): Promise<void>;
  setHealth(serviceId: string, status: 'pass' | 'warn' | 'fail'): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startConsul(attempt = 1): Promise<TestConsul> {
  try {
    return await startConsulOnce();
  } catch (err) {
    // A free port can be taken by a parallel test between probing and binding: try fresh ones.
    if (attempt >= 3) throw err;
    return startConsul(attempt + 1);
  }
}

async function startConsulOnce(): Promise<TestConsul> {
  const bin = consulBinary();
  const ports = { http: await freePort(), serfLan: await freePort(), serfWan: await freePort(), server: await freePort() };
  const address = `http://127.0.0.1:${ports.http}`;
  let proc: Owned | undefined;
  const api = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${address}/v1${path}`, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
    if (!res.ok) throw new Error(`consul ${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  const start = async () => {
    proc = spawnOwned(bin, [
      'agent', '-dev', '-bind', '127.0.0.1', '-client', '127.0.0.1', '-node', 'gatehouse-test',
      '-http-port', String(ports.http), '-dns-port', '-1', '-grpc-port', '-1', '-grpc-tls-port', '-1',
      '-serf-lan-port', String(ports.serfLan), '-serf-wan-port', String(ports.serfWan), '-server-port', String(ports.server),
      '-log-level', 'warn',
    ]);
    await waitFor(`consul agent leader at ${address}`, async () => {
      if (proc?.child.exitCode !== null) throw new GiveUp('consul agent exited');
      const res = await fetch(`${address}/v1/status/leader`);
      const leader = (await res.json()) as string;
      return leader ? true : undefined;
    }, 30_000, 100).catch(async (err: Error) => {
      await proc?.stop('SIGKILL');
      throw new Error(`${err.message}\n${proc?.output()}`);
    });
  };
  await start();
  return {
    address,
    pid: () => proc?.child.pid,
    start,
    async register(r) {
      await api('PUT', '/agent/service/register', {
        ID: r.id, Name: r.name, Address: r.address ?? '127.0.0.1', Port: r.port, Tags: r.tags ?? [], ...(r.meta !== null && { Meta: r.meta ?? {} }),
        ...(r.weight !== undefined && { Weights: { Passing: r.weight, Warning: 1 } }),
        ...(r.ttlCheck && { Check: { CheckID: `check-${r.id}`, TTL: '10m', Status: 'passing' } }),
      });
    },
    async deregister(id) { await api('PUT', `/agent/service/deregister/${encodeURIComponent(id)}`); },
    async setHealth(serviceId, status) { await api('PUT', `/agent/check/${status}/check-${encodeURIComponent(serviceId)}`); },
    async stop() { await proc?.stop('SIGKILL'); },
  };
}

