// A real Consul agent in -dev mode on free loopback ports, and the few HTTP
// API calls the tests make to register, deregister and flip the health of
// backend instances (TTL checks, as a real service's own heartbeat would),
// and to see or change what its KV store holds behind the code under test.
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
  /** What the KV store holds at key (raw bytes and ModifyIndex), or undefined. */
  kvGet(key: string): Promise<{ readonly value: Buffer; readonly modifyIndex: number } | undefined>;
  /** flags: Consul's opaque number kept with the value; a new one is a write even when the value is the same. */
  kvPut(key: string, value: string | Buffer, flags?: number): Promise<void>;
  kvDelete(key: string): Promise<void>;
  /** Every key under prefix. */
  kvKeys(prefix: string): Promise<string[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** extraArgs go to `consul agent`, e.g. ['-hcl', 'limits { kv_max_value_size = 2097152 }']. */
export async function startConsul(extraArgs: readonly string[] = []): Promise<TestConsul> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startConsulOnce(extraArgs);
    } catch (err) {
      // A free port can be taken by a parallel test between probing and binding: try fresh ones.
      if (attempt >= 3) throw err;
    }
  }
}

async function startConsulOnce(extraArgs: readonly string[]): Promise<TestConsul> {
  const bin = consulBinary();
  const ports = { http: await freePort(), serfLan: await freePort(), serfWan: await freePort(), server: await freePort() };
  const address = `http://127.0.0.1:${ports.http}`;
  let proc: Owned | undefined;
  const api = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${address}/v1${path}`, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
    if (!res.ok) throw new Error(`consul ${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  const startOnce = async () => {
    proc = spawnOwned(bin, [
      'agent', '-dev', '-bind', '127.0.0.1', '-client', '127.0.0.1', '-node', 'gatehouse-test',
      '-http-port', String(ports.http), '-dns-port', '-1', '-grpc-port', '-1', '-grpc-tls-port', '-1',
      '-serf-lan-port', String(ports.serfLan), '-serf-wan-port', String(ports.serfWan), '-server-port', String(ports.server),
      '-log-level', 'warn', ...extraArgs,
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
  // A restart (stop, then start) keeps the HTTP port, which the code under test knows; another process may
  // have taken one of the agent's other ports meanwhile (a busy CI machine), and those can change.
  const start = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce();
      } catch (err) {
        const message = (err as Error).message;
        if (attempt >= 3 || !/address already in use/.test(message) || message.includes(`port ${ports.http}:`) || message.includes(`:${ports.http}:`)) throw err;
        Object.assign(ports, { serfLan: await freePort(), serfWan: await freePort(), server: await freePort() });
      }
    }
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
    async kvGet(key) {
      const res = await fetch(`${address}/v1/kv/${key}`);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`consul GET kv/${key}: ${res.status} ${await res.text()}`);
      const [entry] = (await res.json()) as [{ Value: string | null; ModifyIndex: number }];
      return { value: Buffer.from(entry.Value ?? '', 'base64'), modifyIndex: entry.ModifyIndex };
    },
    async kvPut(key, value, flags) {
      const res = await fetch(`${address}/v1/kv/${key}${flags === undefined ? '' : `?flags=${flags}`}`, { method: 'PUT', body: typeof value === 'string' ? value : new Uint8Array(value) });
      if (!res.ok || (await res.json()) !== true) throw new Error(`consul PUT kv/${key}: ${res.status}`);
    },
    async kvDelete(key) { await api('DELETE', `/kv/${key}`); },
    async kvKeys(prefix) {
      const res = await fetch(`${address}/v1/kv/${prefix}?keys`);
      if (res.status === 404) return [];
      if (!res.ok) throw new Error(`consul GET kv/${prefix}?keys: ${res.status} ${await res.text()}`);
      return (await res.json()) as string[];
    },
    async stop() { await proc?.stop('SIGKILL'); },
  };
}

