// A stand-in owner for the cleanup test: starts the harness's real services
// (redis-server, a Consul agent, and a process that forks one of its own),
// prints their pids as one JSON line, then waits to be killed.
// Run: node dist/test/harness/hold-processes.js
import { startRedis } from './redis.js';
import { startConsul } from './consul.js';
import { spawnGroup } from './process.js';

const redis = await startRedis();
const consul = await startConsul();
// sh forks a sleeper and waits: the sleeper is a grandchild, reached only through the group.
const shell = spawnGroup('sh', ['-c', 'sleep 300 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
const grandchild = await new Promise<number>((resolve) => shell.stdout!.once('data', (b: Buffer) => resolve(Number(String(b).trim()))));
process.stdout.write(`${JSON.stringify({ redis: redis.pid(), consul: consul.pid(), shell: shell.pid, grandchild })}\n`);
setInterval(() => {}, 60_000);
