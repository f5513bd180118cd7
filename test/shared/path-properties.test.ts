// Property tests of path normalisation and route matching (fast-check): for
// generated paths built from the pieces that fool gateways, whatever the
// gateway accepts reaches the same route in every backend model below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeTarget } from '../../shared/routing/path.js';
import { RouteTable } from '../../shared/routing/route-table.js';
import type { RouteConfig } from '../../config/schema.js';

const route = (name: string, match: RouteConfig['match']): RouteConfig => ({
  name, match, priority: 0, service: 's', timeoutMs: 1, maxBodyBytes: 1, websocket: false,
  auth: { methods: [], anonymous: true, hideCredentials: true },
});
// An open catch-all and open /public beside guarded /admin: a path that the gateway matches as 'public' or 'root'
// but a backend resolves to /admin is the bypass these properties look for.
const table = new RouteTable([
  route('root', { pathPrefix: '/' }),
  route('public', { pathPrefix: '/public' }),
  route('admin', { pathPrefix: '/admin' }),
  route('api-v1', { pathPrefix: '/api/v1' }),
  route('health', { path: '/health' }),
  route('user-orders', { pathPattern: '/users/:id/orders/*' }),
], () => undefined);
const routeOf = (path: string) => table.match('GET', 'gatehouse.test', path)?.name;

// ---------------------------------------------------------------------------
// The backend model: what common backends do with the path they receive.
// Tomcat, Jetty and Spring (UrlPathHelper) take the raw path, drop ';params' from
// each segment, percent-decode once, then merge slashes and resolve dot segments;
// some also read '\' as '/' (Tomcat's ALLOW_BACKSLASH, Jetty and IIS on Windows).
// Older decoders were lenient about UTF-8 and read the overlong %C0%AE as '.'
// (Tomcat CVE-2008-2938), and an application or a second proxy may decode twice.
// The model takes the worst of each, so it resolves at least as far as any of them.
// ---------------------------------------------------------------------------

/** Drops ';params' from every segment, as the servlet spec does on the raw (undecoded) path. */
function stripPathParameters(path: string): string {
  return path.split('/').map((s) => (s.includes(';') ? s.slice(0, s.indexOf(';')) : s)).join('/');
}

/** Percent-decodes once; multi-byte sequences are decoded without the overlong, surrogate or range checks of a strict decoder. */
function lenientDecode(path: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const hex = path.slice(i + 1, i + 3);
    if (path[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(path[i]!, 'utf8'));
    }
  }
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    const extra = b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
    const tail = bytes.slice(i + 1, i + 1 + extra);
    if ((b >= 0x80 && b < 0xc0) || b >= 0xf8 || tail.length < extra || tail.some((t) => (t & 0xc0) !== 0x80)) {
      out += '\ufffd';
      i++;
      continue;
    }
    const lead = extra === 0 ? b : b & (0x3f >> extra);
    const code = tail.reduce((cp, t) => (cp << 6) | (t & 0x3f), lead);
    out += code > 0x10ffff ? '\ufffd' : String.fromCharCode(...(code > 0xffff ? [0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff)] : [code]));
    i += 1 + extra;
  }
  return out;
}

/** Merges slashes and resolves dot segments; a path without either comes back unchanged. Written apart from the
 *  gateway's removeDotSegments on purpose: a model sharing the code under test would agree with any bug in it. */
function resolveDots(path: string): string {
  const out: string[] = [];
  const segments = path.split('/').slice(1);
  for (const s of segments) {
    if (s === '..') out.pop();
    else if (s !== '.' && s !== '') out.push(s);
  }
  const last = segments[segments.length - 1];
  return `/${out.join('/')}${out.length > 0 && (last === '' || last === '.' || last === '..') ? '/' : ''}`;
}

/** What a servlet-like backend decoding `decodings` times makes of a path: before and after it resolves dot segments. */
function backendView(path: string, decodings: 1 | 2): { readonly decoded: string; readonly resolved: string } {
  let decoded = lenientDecode(stripPathParameters(path));
  if (decodings === 2) decoded = lenientDecode(stripPathParameters(decoded));
  decoded = decoded.replaceAll('\\', '/');
  return { decoded, resolved: resolveDots(decoded) };
}

// ---------------------------------------------------------------------------
// Generated paths: segments of route names and harmless escapes, salted with the
// pieces that break normalisers, joined by plain, doubled and dot separators.
// ---------------------------------------------------------------------------
const harmless = [
  'public', 'admin', 'api', 'v1', 'api/v1', 'users', '42', 'orders', 'users/42/orders', 'health', 'a', 'x1', '~', '.', '..', '2e', '2f', '25',
  '%61', '%41', '%7e', '%7E', '%20', '%25', '%c3%a9', '%f0%9f%98%80', '%3f',
];
const hostile = [
  ';', ';x=1', '..;', '.;', '%2e', '%2E', '%2e%2e', '%2f', '%2F', '%5c', '%5C', '\\', '%252f', '%252e', '%2561', '%3b',
  '%3B', '%c0%ae', '%C0%AF', '%e0%80%ae', '%c0', '%ae', '%80', '%ed%a0%80', '%f4%90%80%80', '%00', '%0a', '%7f', '%c2%85',
  '\u00e9', '\u2215', '\uff0e', ' ', '#', '?', '%',
];
const piece = fc.oneof({ arbitrary: fc.constantFrom(...harmless), weight: 8 }, { arbitrary: fc.constantFrom(...hostile), weight: 1 });
const segment = fc.array(piece, { maxLength: 3 }).map((p) => p.join(''));
const separator = fc.constantFrom('/', '/', '/', '/', '//', '/./', '/../');
const target = fc.array(fc.tuple(separator, segment), { minLength: 1, maxLength: 6 }).map((parts) => parts.flat().join(''));
const RUNS = { numRuns: 10_000 };

test('the generated paths are not vacuous: many are accepted, and they reach every route', () => {
  const accepted = fc.sample(target, { numRuns: 3_000, seed: 15 }).map(normalizeTarget).filter((t) => t !== undefined);
  assert.ok(accepted.length > 1_000, `${accepted.length} of 3,000 accepted`);
  assert.deepEqual(new Set(accepted.map((t) => routeOf(t.path))), new Set(['root', 'public', 'admin', 'api-v1', 'health', 'user-orders']));
});

test('normalisation is idempotent: the router, normalising what the edge forwards, gets the same path and route', () => {
  fc.assert(fc.property(target, (raw) => {
    const once = normalizeTarget(raw);
    if (once === undefined) return;
    const twice = normalizeTarget(once.path + once.search);
    assert.deepEqual(twice, once, raw);
    assert.equal(routeOf(twice!.path), routeOf(once.path));
  }), RUNS);
});

test('every backend model resolves an accepted path to the route its normalised form matches', () => {
  fc.assert(fc.property(target, (raw) => {
    const accepted = normalizeTarget(raw);
    if (accepted === undefined) return;
    const decided = routeOf(accepted.path);
    for (const decodings of [1, 2] as const) {
      const { resolved } = backendView(accepted.path, decodings);
      assert.equal(routeOf(resolved), decided, `${raw} forwarded as ${accepted.path}, resolved as ${resolved} (decoded ${decodings}x)`);
    }
  }), RUNS);
});

test('nothing accepted holds a dot segment, an empty segment or a path parameter for a backend to resolve', () => {
  fc.assert(fc.property(target, (raw) => {
    const accepted = normalizeTarget(raw);
    if (accepted === undefined) return;
    for (const decodings of [1, 2] as const) {
      const { decoded, resolved } = backendView(accepted.path, decodings);
      assert.equal(resolved, decoded, `${raw} forwarded as ${accepted.path}: a backend decoding ${decodings}x still resolves ${decoded}`);
    }
    assert.equal(stripPathParameters(accepted.path), accepted.path, `${raw} forwarded with a path parameter`);
  }), RUNS);
});

test('the model itself finds the issue\'s bypasses, so a pass above means something', () => {
  assert.equal(backendView('/public/..;/admin', 1).resolved, '/admin');
  assert.equal(backendView('/public/%2e%2e;/admin', 1).resolved, '/admin');
  assert.equal(backendView('/public/%c0%ae%c0%ae/admin', 1).resolved, '/admin');
  assert.equal(backendView('/public/..%252fadmin', 2).resolved, '/admin');
  assert.equal(backendView('/public/..%5cadmin', 1).resolved, '/admin');
  assert.equal(backendView('/admin;x=1', 1).resolved, '/admin');
  assert.equal(backendView('/caf%C3%A9', 1).resolved, '/caf\u00e9');
});
