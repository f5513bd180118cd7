// A tier run as several worker processes on one host (router.workers, edge.workers): every worker serves
// the shared port, a killed worker is replaced while the others keep serving, SIGHUP reloads every worker,
// TLS sessions resume across edge workers, /metrics on the one admin
// port shows every worker's series, SIGTERM drains every worker and exits 0, and the workers never
// outlive their supervisor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { TEST_IDENTITY, certificates } from '../harness/gateway.js';
import { connect as tlsConnect } from 'node:tls';
import { freePort, waitFor, GiveUp } from '../harness/ports.js';
import { adoptGroup, spawnOwned, type Owned } from '../harness/process.js';
import { repoRoot } from '../harness/binaries.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

let backend: EchoBackend;
const signer = new AssertionSigner(TEST_IDENTITY);
const spawned: Owned[] = [];

before(async () => {
  backend = await startEchoBackend('workers');
});

after(async () => {
  await Promise.all(spawned.map((p) => p.stop('SIGKILL')));
  await backend?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exitCode = (p: Owned) => new Promise<number | null>((r) => (p.child.exitCode !== null ? r(p.child.exitCode) : p.child.once('exit', (c) => r(c))));
/** Running: a zombie (dead, its new parent not having reaped it yet) holds no socket and serves nothing. */
const alive = (pid: number) => { try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; } };

interface Router { readonly proc: Owned; readonly port: number; readonly admin: number; readonly file: string; readonly supervisor: number }

function writeConfig(section: Record<string, unknown>, kind: 'edge' | 'router' = 'router', file = join(mkdtempSync(join(tmpdir(), 'gatehouse-workers-')), `${kind}.yaml`), backendUrl = backend.url): string {
  writeFileSync(file, stringify({
    identity: TEST_IDENTITY, authorization: { default: 'allow' }, [kind]: section,
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app', auth: { anonymous: true } }],
    services: { app: { static: [backendUrl] } },
    config: { watchFile: false }, // only SIGHUP reloads: what the supervisor forwards is what is tested
  }));
  return file;
}

/**
 * Starts the tier's main in a process group of its own, under a wrapper the harness owns: the harness kills the
 * group of a process it started once that process exits, which would hide whether workers leave with their
 * supervisor by themselves. The wrapper prints the supervisor's pid and exits with its code.
 */
const OWN_GROUP = `import { spawn } from 'node:child_process';
const c = spawn(process.execPath, process.argv.slice(1), { detached: true, stdio: 'inherit' });
console.log(JSON.stringify({ event: 'supervisor', pid: c.pid }));
c.on('exit', (code) => process.exit(code ?? 128));`;

interface SpawnOptions {
  readonly shutdown?: Record<string, number>;
  readonly kind?: 'edge' | 'router';
  /** More of the tier's section. */
  readonly more?: Record<string, unknown>;
  readonly ownGroup?: boolean;
}

/** A router (or edge) with workers 2, as an operator runs it, ready on its admin port. */
/** The tier's section of the file spawnRouter writes. */
const sectionOf = (port: number, admin: number, shutdown: Record<string, number>, more: Record<string, unknown>) => ({ listen: { port }, admin: { port: admin }, workers: 2, shutdown, ...more });

async function spawnRouter({ shutdown = { drainDelayMs: 0 }, kind = 'router', more = {}, ownGroup = false }: SpawnOptions = {}): Promise<Router> {
  const [port, admin] = [await freePort(), await freePort()];
  const file = writeConfig(sectionOf(port, admin, shutdown, more), kind);
  const main = [resolve(repoRoot(), `dist/${kind}/main.js`), '--config', file];
  const proc = spawnOwned(process.execPath, ownGroup ? ['--input-type=module', '-e', OWN_GROUP, ...main] : main);
  spawned.push(proc);
  await waitFor('the workers to listen', () => {
    if (proc.child.exitCode !== null) throw new GiveUp(proc.output());
    return proc.logged('listening').some((l) => l.workers === 2) || undefined;
  }, 60_000); // a worker starts in about a second alone, ten on a loaded 2-core machine
  const router = { proc, port, admin, file, supervisor: ownGroup ? proc.logged('supervisor')[0]!.pid as number : proc.child.pid! };
  // Its group dies with this test process whatever happens, though not when the wrapper exits.
  if (ownGroup) adoptGroup(router.supervisor);
  return router;
}

/** One request on a connection of its own (no keep-alive), so the kernel picks a worker for each. */
async function send(port: number, headers: Record<string, string> = {}, path = '/work'): Promise<number> {
  const assertion = await signer.assertionFor(ANONYMOUS); // fresh: the file's tests outlive one assertion's 60 s
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { [IDENTITY_HEADER]: assertion, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** gatehouse_requests_total for the app route, per worker slot, from the one admin port. */
async function requestsByWorker(admin: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^gatehouse_requests_total\{(.*)\} (\d+)/.exec(line);
    const worker = m && /worker="(\d+)"/.exec(m[1]!)?.[1];
    if (worker) counts.set(worker, (counts.get(worker) ?? 0) + Number(m[2]));
  }
  return counts;
}

async function metric(admin: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const workerPids = (r: Router) => r.proc.logged('worker-started').map((l) => ({ worker: l.worker as number, pid: l.pid as number }));

test('with router.workers 2 both workers serve the one port, and the one admin port counts both', async () => {
  const r = await spawnRouter();
  const statuses = await Promise.all(Array.from({ length: 40 }, () => send(r.port)));
  assert.deepEqual(statuses.filter((s) => s !== 200), []);
  const counts = await requestsByWorker(r.admin);
  assert.deepEqual([...counts.keys()].sort(), ['0', '1'], `series per worker: ${JSON.stringify([...counts])}`);
  assert.equal([...counts.values()].reduce((a, b) => a + b), 40, 'every request counted once, in its worker\'s series');
  assert.equal(await metric(r.admin, 'gatehouse_workers'), 2);
  assert.equal(new Set(workerPids(r).map((w) => w.pid)).size, 2);
  await r.proc.stop('SIGKILL');
});

test('a worker killed with SIGKILL is replaced in its slot; only requests it held can fail', async (t) => {
  const r = await spawnRouter();
  const [victim] = workerPids(r);
  let running = true;
  let killedAt = Infinity;
  const results: { startedAt: number; status: number }[] = [];
  const clients = Array.from({ length: 2 }, async () => {
    while (running) {
      const startedAt = Date.now();
      results.push({ startedAt, status: await send(r.port) });
    }
  });
  await sleep(500);
  killedAt = Date.now();
  process.kill(victim!.pid, 'SIGKILL');
  const replacement = await waitFor('the replacement worker', () => workerPids(r).find((w) => w.worker === victim!.worker && w.pid !== victim!.pid), 10_000);
  await waitFor('both workers listening again', async () => (await metric(r.admin, 'gatehouse_workers')) === 2 || undefined, 10_000);
  await sleep(1_000);
  running = false;
  await Promise.all(clients);
  assert.ok(!alive(victim!.pid) && alive(replacement.pid));
  assert.equal(await metric(r.admin, 'gatehouse_worker_restarts_total'), 1);
  // SIGKILL takes the victim's connections with it: the request it was serving, and any the kernel had queued on
  // its listening socket that it had not accepted yet. A request started once it was gone (the supervisor saw it
  // exit) never fails: the kernel no longer chooses a closed socket.
  const exitedAt = Date.parse(r.proc.logged('worker-exited').find((l) => l.pid === victim!.pid)!.time as string);
  const failed = results.filter((x) => x.status !== 200);
  const failedLate = failed.filter((x) => x.startedAt > exitedAt);
  t.diagnostic(`${results.length} requests around the kill, ${failed.length} failed, ${failedLate.length} of them started after the worker's exit (${exitedAt - killedAt} ms after the kill)`);
  assert.ok(results.length > 100, `enough load: ${results.length}`);
  assert.deepEqual(failedLate, [], 'no request failed that started after the worker was gone');
  // The replacement serves: its slot's series (started again from zero with its process) grows.
  const before = (await requestsByWorker(r.admin)).get(String(victim!.worker)) ?? 0;
  await Promise.all(Array.from({ length: 40 }, () => send(r.port)));
  const later = (await requestsByWorker(r.admin)).get(String(victim!.worker)) ?? 0;
  assert.ok(later > before, `the replacement served: ${before} -> ${later}`);
  await r.proc.stop('SIGKILL');
});

test('SIGHUP to the supervisor reloads every worker', async () => {
  const r = await spawnRouter();
  const other = await startEchoBackend('after-reload');
  try {
    writeConfig(sectionOf(r.port, r.admin, { drainDelayMs: 0 }, {}), 'router', r.file, other.url);
    process.kill(r.supervisor, 'SIGHUP');
    // 30 connections at once land on both workers (all on one: 2^-29); every one reaches the new backend.
    await waitFor('every worker to serve the reloaded config', async () => {
      const since = other.received.length;
      await Promise.all(Array.from({ length: 30 }, () => send(r.port, {}, '/reloaded')));
      return other.received.length - since === 30 || undefined;
    }, 20_000, 200);
    assert.equal(r.proc.logged('config-reloaded').length, 2, 'each worker reloaded once');
  } finally {
    await other.close();
    await r.proc.stop('SIGKILL');
  }
});

test('SIGTERM drains every worker, lets in-flight requests finish, and exits 0', async () => {
  const r = await spawnRouter({ shutdown: { drainDelayMs: 300, timeoutMs: 5_000 } });
  const pids = workerPids(r).map((w) => w.pid);
  // Slow requests on both workers (16 connections: the chance all land on one worker is 2^-15), all at the backend.
  const inFlight = Promise.all(Array.from({ length: 16 }, () => send(r.port, { 'x-echo-delay-ms': '1500' }, '/drain')));
  await waitFor('every slow request at the backend', () => backend.received.filter((x) => x.url === '/drain').length === 16 || undefined, 10_000);
  r.proc.child.kill('SIGTERM');
  assert.deepEqual((await inFlight).filter((s) => s !== 200), [], 'every in-flight request finished');
  assert.equal(await exitCode(r.proc), 0, r.proc.output());
  const complete = r.proc.logged('shutdown-complete');
  assert.deepEqual(complete.map((l) => l.outcome), ['drained', 'drained', 'drained'], 'two workers and the supervisor');
  assert.ok(pids.every((p) => !alive(p)));
});

test('a second signal during the drain exits at once with 1, workers included', async () => {
  const r = await spawnRouter({ shutdown: { drainDelayMs: 0, timeoutMs: 10_000 }, ownGroup: true });
  const pids = workerPids(r).map((w) => w.pid);
  const stuck = send(r.port, { 'x-echo-delay-ms': '5000' });
  await sleep(200);
  const signalledAt = Date.now();
  process.kill(r.supervisor, 'SIGTERM');
  await sleep(200);
  process.kill(r.supervisor, 'SIGTERM');
  assert.equal(await exitCode(r.proc), 1);
  assert.ok(Date.now() - signalledAt < 2_000);
  assert.equal(await stuck, 0, 'the stuck request was cut');
  await waitFor('the workers to be gone', () => pids.every((p) => !alive(p)) || undefined, 2_000);
});

test('workers exit when their supervisor is killed with SIGKILL', async () => {
  const r = await spawnRouter({ ownGroup: true });
  const pids = workerPids(r).map((w) => w.pid);
  process.kill(r.supervisor, 'SIGKILL');
  await waitFor('the workers to follow their supervisor', () => pids.every((p) => !alive(p)) || undefined, 5_000);
});

test('edge workers share TLS session ticket keys: a client resumes its session on whichever worker takes the connection', async () => {
  const certs = await certificates;
  const edge = await spawnRouter({
    kind: 'edge', more: { tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }] }, router: { static: ['http://127.0.0.1:9'] } },
  });
  const ca = readFileSync(certs.caFile);
  /** One TLS connection and one request on it (the TLS 1.3 ticket comes after the handshake): whether it resumed, and the session it was given. */
  const connect = (session?: Buffer) => new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: edge.port, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'], ...(session && { session }) });
    let given: Buffer | undefined;
    let reused = false;
    socket.on('session', (s: Buffer) => { given = s; });
    socket.on('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write('GET /resume HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    });
    socket.on('data', () => { /* the 404; the edge closes after it */ });
    socket.on('close', () => resolve({ reused, session: given }));
    socket.on('error', reject);
  });
  const first = await connect();
  assert.ok(first.session, 'the first connection was given a session ticket');
  // 12 connections: the chance the kernel hands every one to the worker that issued the ticket is 2^-12.
  const resumed = await Promise.all(Array.from({ length: 12 }, () => connect(first.session!).then((c) => c.reused)));
  assert.deepEqual(resumed.filter((r) => !r), [], 'every connection resumed the session');
  assert.deepEqual([...(await requestsByWorker(edge.admin)).keys()].sort(), ['0', '1'], 'both edge workers took connections');
  await edge.proc.stop('SIGKILL');
});

test('workers need fixed ports: port 0 is refused at start with the field named', { timeout: 30_000 }, async () => {
  const file = writeConfig({ listen: { port: 0 }, admin: { port: await freePort() }, workers: 2 });
  const proc = spawnOwned(process.execPath, [resolve(repoRoot(), 'dist/router/main.js'), '--config', file]);
  spawned.push(proc);
  assert.equal(await exitCode(proc), 2);
  assert.match(proc.output(), /router\.listen\.port: expected a fixed port with router\.workers 2, found 0/);
});
