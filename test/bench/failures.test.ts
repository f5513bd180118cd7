// The benchmark never reports a broken case as a fast one: real wrk and vegeta
// against a port nothing listens on, a server that resets every connection
// and nginx in front of a backend that is gone each give a FAILED case with
// its errors counted; and a chain that admits what it must refuse stops the
// bench before anything is timed, naming the check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { Agent } from 'undici';
import type { Case, CaseId } from '../../bench/cases.js';
import { closedLoop, fixedRate, type ClosedLoopSample, type FixedRateSample } from '../../bench/measure.js';
import { medianRows, printTable, targets, type BenchRow } from '../../bench/report.js';
import { goTool } from '../../bench/go-tools.js';
import { startNginx, proxyServer } from '../../bench/nginx.js';
import { verifyChain } from '../../bench/chain-checks.js';
import { stopGroup } from '../harness/process.js';
import { freePort, waitFor } from '../harness/ports.js';

/** One round of both loads against the case, as the bench measures it, and the row the report makes of it. */
async function measureOnce(c: Case): Promise<{ row: BenchRow; printed: string[] }> {
  const vegeta = await goTool('vegeta', false);
  const closed = await closedLoop(c, 1);
  const open = await fixedRate(c, vegeta, 50, 1);
  const [row] = medianRows([c], new Map([[c.id, [closed]]]), new Map([[c.id, [open]]]));
  const printed: string[] = [];
  printTable([row!], [], (line) => printed.push(line));
  return { row: row!, printed };
}

function assertFailed(row: BenchRow, printed: readonly string[], kinds: readonly RegExp[]): void {
  assert.equal(row.failed, true, JSON.stringify(row));
  assert.ok(row.errors > 0, `errors counted: ${row.errors}`);
  for (const kind of kinds) assert.ok(Object.keys(row.errorKinds).some((k) => kind.test(k)), `${kind} among ${JSON.stringify(row.errorKinds)}`);
  assert.match(row.failure, new RegExp(`^${row.errors} errors: `));
  // The case's line in the table says FAILED and why, and shows none of its numbers.
  assert.ok(printed.includes(`${row.case.padEnd(50)}  FAILED: ${row.failure}`), printed.join('\n'));
}

const listening = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

test('a case whose port refuses connections is FAILED, with wrk and vegeta connect errors counted', { timeout: 60_000 }, async () => {
  const port = await freePort(); // free, and nothing binds it
  const { row, printed } = await measureOnce({ id: 'B1', name: 'refusing', url: `http://127.0.0.1:${port}/`, procs: {} });
  assertFailed(row, printed, [/^wrk unable to connect$/, /^vegeta connection refused$/]);
  assert.equal(row.errorKinds['vegeta connection refused'], 100, 'every request vegeta sent (50/s for 1 s and its ramp second) failed');
});

test('a server that resets every connection is FAILED, with wrk read errors and vegeta errors counted', { timeout: 60_000 }, async () => {
  const server = createServer((socket) => socket.resetAndDestroy());
  const port = await listening(server);
  try {
    const { row, printed } = await measureOnce({ id: 'B1', name: 'resetting', url: `http://127.0.0.1:${port}/`, procs: {} });
    assertFailed(row, printed, [/^wrk (read|write)$/, /^vegeta /]);
  } finally {
    server.close();
  }
});

test('nginx in front of a killed backend is FAILED: every 502 counts, and no target reads its numbers', { timeout: 60_000 }, async () => {
  const backend = createHttpServer((_req, res) => res.end('{"ok":true}'));
  const backendPort = await listening(backend as unknown as Server);
  const port = await freePort();
  const nginx = startNginx('killed-backend', proxyServer(port, backendPort));
  try {
    await waitFor('nginx proxying', async () => (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status).catch(() => 0)) === 200 || undefined);
    await new Promise((resolve) => backend.close(resolve)); // the backend is gone; nginx answers 502
    const c: Case = { id: 'secured', name: 'proxy to a killed backend', url: `http://127.0.0.1:${port}/`, procs: { nginx } };
    const { row, printed } = await measureOnce(c);
    assertFailed(row, printed, [/^wrk non-2xx\/3xx$/, /^vegeta 502$/]);
    // As the secured case of a whole run: the targets that read it are not measured, the others are.
    const rows = wholeRun(row);
    const goals = targets(rows);
    const reading = goals.filter((g) => g.name.startsWith('secured'));
    assert.equal(reading.length, 12, 'four CPU ratios, throughput against bare and Express Gateway, p99, two allocation and two RSS limits, Redis round trips');
    for (const g of reading) assert.ok(g.unmeasured === 'secured failed' && !g.met && Number.isNaN(g.measured), JSON.stringify(g));
    for (const g of goals.filter((x) => !x.name.startsWith('secured'))) assert.ok(g.unmeasured === undefined && Number.isFinite(g.measured), JSON.stringify(g));
    const lines: string[] = [];
    printTable(rows, goals, (l) => lines.push(l));
    assert.ok(lines.includes('NOT MEASURED secured req/s, x Express Gateway: secured failed'), lines.join('\n'));
  } finally {
    await stopGroup(nginx);
    backend.close();
  }
});

/** The failed row among healthy rows for every other case, the same numbers each (only which rows failed matters here). */
function wholeRun(failed: BenchRow): BenchRow[] {
  const ids: CaseId[] = ['B0', 'B1', 'B2', 'haproxy', 'caddy', 'floor', 'floor2', 'express-gateway', 'bare', 'secured'];
  const roles = (id: CaseId) => (id === 'bare' ? ['edge', 'router'] : id === 'floor2' ? ['first', 'second'] : ['node']);
  const byRole = (id: CaseId, x: number) => Object.fromEntries(roles(id).map((r) => [r, x]));
  const healthy = (id: CaseId): [ClosedLoopSample, FixedRateSample] => [
    { requests: 5000, rps: 5000, p50ms: 1, p99ms: 2, p999ms: 3, errors: 0, errorKinds: {}, cpuUsPerRequest: byRole(id, 100), rssMb: byRole(id, 60), heapKbPerRequest: byRole(id, 20) },
    { rate: 50, p50ms: 1, p99ms: 2, p999ms: 3, errors: 0, errorKinds: {}, cpuUsPerRequest: byRole(id, 300) },
  ];
  const cases = ids.filter((id) => id !== 'secured').map((id): Case => ({ id, name: id, url: 'http://127.0.0.1:1/', procs: Object.fromEntries(roles(id).map((r) => [r, { pid: 1 }])) as Case['procs'], heapProbed: roles(id) }));
  const rows = medianRows(cases, new Map(cases.map((c) => [c.id, [healthy(c.id)[0]]])), new Map(cases.map((c) => [c.id, [healthy(c.id)[1]]])));
  const tiers = (x: number) => ({ edge: x, router: x });
  return [...rows, { ...failed, cpuUsPerRequest: tiers(50), rssMb: tiers(50), heapKbPerRequest: tiers(20), redisRoundTripsPerRequest: 0, fixedRate: { ...failed.fixedRate, cpuUsPerRequest: tiers(50) }, ratios: { ...failed.ratios, cpuVsFloor: tiers(0.5), cpuVsFloorAtFixedRate: tiers(0.2), cpuVsFloorHop: tiers(0.5), cpuVsFloorHopAtFixedRate: tiers(0.2), rpsVsExpressGateway: 9 } }];
}

test('a chain that admits a bad token, or refuses it with the wrong error code, stops the bench naming the check', { timeout: 30_000 }, async () => {
  let answer = { status: 200, body: '{"ok":true}' };
  const server = createHttpServer((_req, res) => { res.statusCode = answer.status; res.end(answer.body); });
  const port = await listening(server as unknown as Server);
  const dispatcher = new Agent();
  const checks = [{ name: 'bad token: 401 unauthorized', path: '/', headers: { authorization: 'Bearer nonsense' }, expect: [{ status: 401, error: 'unauthorized' as const }] }];
  try {
    await assert.rejects(verifyChain('secured', `http://127.0.0.1:${port}/`, checks, dispatcher), /secured failed its check "bad token: 401 unauthorized": expected 401 with error "unauthorized", got 200/);
    answer = { status: 401, body: '{"error":"forbidden"}' };
    await assert.rejects(verifyChain('secured', `http://127.0.0.1:${port}/`, checks, dispatcher), /got 401 \{"error":"forbidden"\}/);
    answer = { status: 401, body: '{"error":"unauthorized"}' };
    assert.deepEqual(await verifyChain('secured', `http://127.0.0.1:${port}/`, checks, dispatcher), ['bad token: 401 unauthorized']);
  } finally {
    server.close();
    await dispatcher.close();
  }
});
