// `npm start`: the whole gateway on this machine in one command. Generates a
// local CA and localhost certificate on first start, runs two demo backends,
// the router and the edge as child processes, prints a URL and a curl line
// that work as printed, and stops everything on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevCertificates } from '../../shared/tls/dev-certs.js';
import { loadConfigFile, ConfigError } from '../../config/load.js';
import { TIER_NODE_FLAGS } from '../../shared/heap-flags.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const repo = resolve(dist, '..');
const configFile = process.env.GATEHOUSE_CONFIG ?? join(repo, 'deploy/gatehouse.dev.yaml');

const certs = await ensureDevCertificates(join(repo, '.gatehouse/certs'));
let config;
try {
  config = loadConfigFile(configFile);
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(2);
}

// The admin API's token for this run, unless given: the tiers read it from their environment (tokenEnv).
const adminToken = process.env.GATEHOUSE_ADMIN_TOKEN ?? randomBytes(24).toString('base64url');
const childEnv = { ...process.env, GATEHOUSE_ADMIN_TOKEN: adminToken };

const children: ChildProcess[] = [];
let stopping = false;
function run(name: string, script: string, args: string[]): void {
  const child = spawn(process.execPath, [...TIER_NODE_FLAGS, join(dist, script), ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: childEnv });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`gatehouse: ${name} exited (${signal ?? code}); stopping the rest\n`);
      void stopAll(1);
    }
  });
  children.push(child);
}

async function stopAll(exitCode: number): Promise<void> {
  stopping = true;
  await Promise.all(children.map((c) => new Promise<void>((done) => {
    if (c.exitCode !== null || c.signalCode !== null) return done();
    c.once('exit', () => done());
    c.kill('SIGTERM');
  })));
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

for (const [i, origin] of (config.services.demo?.static ?? []).entries()) {
  run(`backend-${i + 1}`, 'deploy/dev/echo-backend.js', [`demo-${i + 1}`, new URL(origin).port]);
}
run('router', 'router/main.js', ['--config', configFile]);
run('edge', 'edge/main.js', ['--config', configFile]);

const edge = config.edge!;
const edgeAdmin = `http://${edge.admin.host}:${edge.admin.port}`;
const adminReady = `${edgeAdmin}/ready`;
const url = `https://localhost:${edge.listen.port}/demo/hello`;
// The curl line is printed once it works: both tiers ready and every demo backend answering.
const routerAdmin = config.router!.admin;
const probes = [adminReady, `http://${routerAdmin.host}:${routerAdmin.port}/ready`, ...(config.services.demo?.static ?? [])];
for (let attempt = 0; attempt < 100 && !stopping; attempt++) {
  const ready = (await Promise.all(probes.map((u) => fetch(u).then((r) => r.ok, () => false)))).every(Boolean);
  if (ready) {
    process.stderr.write([
      '',
      'Gatehouse is running (development mode: static discovery, no Redis or Consul).',
      `  edge     https://localhost:${edge.listen.port}    readiness ${adminReady}`,
      `  router   http://${config.router!.listen.host}:${config.router!.listen.port}`,
      `Watch it:`,
      `  dashboard ${edgeAdmin}/dashboard#token=${adminToken}`,
      `  metrics   ${edgeAdmin}/metrics (edge)   http://${routerAdmin.host}:${routerAdmin.port}/metrics (router)`,
      `Try it:`,
      `  curl --cacert ${certs.caFile} ${url}`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n');
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
