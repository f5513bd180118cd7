// The tiers' stdout buffer (shared/log-buffer.ts): the access line written into it field by field is the
// same line the string path writes, pino's own lines and access lines keep their order, a line too long for
// the buffer still goes out whole, and a lone line is written within 100 ms without a flush.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lines } from '../harness/logs.js';
import type { IncomingMessage } from 'node:http';
import { createLogger } from '../../shared/log.js';
import { LineBuffer } from '../../shared/log-buffer.js';
import { logAccess } from '../../shared/access-log.js';
import { Exchange } from '../../shared/exchange.js';
import { continueTrace } from '../../shared/trace.js';

const rawRequest = (url: string) => ({ method: 'GET', url, socket: { remoteAddress: '::ffff:192.0.2.7' } }) as unknown as IncomingMessage;

function fileBuffer(): { dest: LineBuffer; lines(): string[]; close(): void } {
  const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-log-')), 'out.log');
  const fd = openSync(file, 'w');
  return {
    dest: new LineBuffer(fd),
    lines: () => readFileSync(file, 'utf8').split('\n').filter(Boolean),
    close: () => closeSync(fd),
  };
}

/** Exchanges with every optional field, hostile and non-ASCII values, and a path longer than the buffer. */
function exchanges(): { ex: Exchange; url: string }[] {
  const full = new Exchange('req-1');
  full.trace = continueTrace('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', undefined);
  full.path = '/orders/"quoted"\n\u0000/café/日本';
  full.service = 'orders';
  full.upstream = 'http://127.0.0.1:1';
  full.identity = { consumer: 'acme "the" \\ consumer', method: 'jwt', scopes: [], roles: [], claims: {} };
  full.authDetail = { issuer: 'https://idp/', note: 'ünïcode' };
  full.retries = 2;
  full.reason = 'upstream said \u2028 no';
  const huge = new Exchange('req-3');
  huge.reason = 'x'.repeat(70_000);
  return [{ ex: full, url: '/orders?token=secret' }, { ex: new Exchange('req-2'), url: '/plain' }, { ex: huge, url: '/huge' }];
}

const withoutTiming = (line: string) => ({ ...(JSON.parse(line) as Record<string, unknown>), time: 0, durationMs: 0 });

test('access lines through the buffer are the string path\'s lines, in order with pino\'s own', () => {
  const file = fileBuffer();
  const strings = new Lines();
  const viaBuffer = createLogger('edge', 'info', file.dest);
  const viaString = createLogger('edge', 'info', strings);
  try {
    viaBuffer.info({ event: 'first' }, 'before');
    for (const [i, { ex, url }] of exchanges().entries()) {
      logAccess(viaBuffer, ex, rawRequest(url), 502, 7, 'completed');
      logAccess(viaString, ex, rawRequest(url), 502, 7, 'completed');
      viaBuffer.info({ event: `after-${i}` });
    }
    viaBuffer.flush();
    viaString.flush();
    const lines = file.lines();
    assert.deepEqual(lines.map((l) => JSON.parse(l).event), ['first', 'access', 'after-0', 'access', 'after-1', 'access', 'after-2']);
    const access = lines.filter((l) => JSON.parse(l).event === 'access');
    assert.deepEqual(access.map(withoutTiming), strings.lines.map(withoutTiming));
    assert.equal((JSON.parse(access[2]!) as { reason: string }).reason.length, 70_000, 'a line longer than the buffer goes out whole');
    for (const line of access) assert.match(String(JSON.parse(line).time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  } finally {
    file.close();
  }
});

test('a lone line is written within 100 ms; 4 KiB of lines are written at once', async () => {
  const file = fileBuffer();
  const log = createLogger('router', 'info', file.dest);
  try {
    logAccess(log, new Exchange('lone'), rawRequest('/'), 200, 0, 'completed');
    assert.equal(file.lines().length, 0, 'held for its batch');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(file.lines().length, 1);
    for (let i = 0; i < 40; i++) logAccess(log, new Exchange(`batch-${i}`), rawRequest(`/${'p'.repeat(100)}`), 200, 0, 'completed');
    assert.ok(file.lines().length > 1, 'a full batch is written without waiting');
  } finally {
    file.close();
  }
});

test('no write passes 4 KiB (a pipe\'s atomic write, which workers sharing stdout rely on) unless one line does, and none splits a line', () => {
  const writes: number[] = [];
  const file = fileBuffer();
  const log = createLogger('edge', 'info', file.dest);
  const original = fs.writeSync;
  try {
    syncBuiltinESMExports();
    (fs as { writeSync: typeof fs.writeSync }).writeSync = ((fd: number, buffer: Uint8Array, offset?: number, length?: number) => {
      const n = original(fd, buffer, offset, length);
      writes.push(n);
      return n;
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
    for (let i = 0; i < 200; i++) logAccess(log, new Exchange(`pipe-${i}`), rawRequest(`/${'q'.repeat(i % 7 === 0 ? 5_000 : 80)}`), 200, 0, 'completed');
    log.flush();
    const lines = file.lines();
    assert.equal(lines.length, 200);
    for (const line of lines) assert.equal(JSON.parse(line).event, 'access', 'every line whole');
    const longest = Math.max(...lines.map((l) => Buffer.byteLength(l) + 1));
    assert.ok(writes.length > 10);
    for (const n of writes) assert.ok(n <= 4096 || n <= longest, `a write of ${n} bytes`);
    assert.ok(writes.filter((n) => n > 4096).length <= lines.filter((l) => Buffer.byteLength(l) >= 4096).length, 'only single long lines pass 4 KiB');
  } finally {
    (fs as { writeSync: typeof fs.writeSync }).writeSync = original;
    syncBuiltinESMExports();
    file.close();
  }
});

test('a stdout that cannot be written (closed, EBADF) loses the lines, never the process', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-log-')), 'read-only.log');
  closeSync(openSync(file, 'w'));
  const fd = openSync(file, 'r');
  try {
    const log = createLogger('edge', 'info', new LineBuffer(fd));
    for (let i = 0; i < 100; i++) logAccess(log, new Exchange(`lost-${i}`), rawRequest(`/${'x'.repeat(100)}`), 200, 0, 'completed');
    log.info({ event: 'after' });
    assert.doesNotThrow(() => log.flush());
    assert.equal(readFileSync(file, 'utf8'), '');
  } finally {
    closeSync(fd);
  }
});
