// Real Redis Sentinel and Redis Cluster deployments on loopback, for tests
// of the connection modes: redis-server in sentinel mode watching a master,
// and three cluster-enabled masters joined with redis-cli --cluster create.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { redisServerBinary } from './binaries.js';
import { freePort, waitFor } from './ports.js';
import { spawnOwned, type Owned } from './process.js';
import { startRedis } from './redis.js';

export interface Topology {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

export async function startSentinel(): Promise<Topology & { masterName: string; sentinelPort: number }> {
  const master = await startRedis();
  const sentinelPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor gh-master 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds gh-master 1000\n`);
  const sentinel = spawnOwned(redisServerBinary(), [conf, '--sentinel']);
  await waitFor('sentinel to know the master', () => {
    try {
      return execFileSync('redis-cli', ['-p', String(sentinelPort), 'SENTINEL', 'get-master-addr-by-name', 'gh-master'], { encoding: 'utf8' }).includes(String(master.port)) || undefined;
    } catch { return undefined; }
  }, 10_000, 100);
  return { masterName: 'gh-master', sentinelPort, ports: [master.port, sentinelPort], stop: async () => { await sentinel.stop('SIGKILL'); await master.stop(); } };
}

export async function startCluster(): Promise<Topology> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-'));
  const nodes: Owned[] = ports.map((port) => spawnOwned(redisServerBinary(), [
    '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
    '--save', '', '--appendonly', 'no', '--dir', dir,
  ]));
  for (const port of ports) {
    await waitFor(`cluster node ${port}`, () => { try { return execFileSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' }).startsWith('PONG') || undefined; } catch { return undefined; } }, 10_000);
  }
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
  await waitFor('cluster state ok', () => {
    try { return execFileSync('redis-cli', ['-p', String(ports[0]), 'CLUSTER', 'INFO'], { encoding: 'utf8' }).includes('cluster_state:ok') || undefined; } catch { return undefined; }
  }, 15_000, 100);
  return { ports, stop: async () => { await Promise.all(nodes.map((n) => n.stop('SIGKILL'))); } };
}
