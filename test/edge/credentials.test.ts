// Counting the credentials a request presents: every line of a carrier header
// (whatever node kept of it), comma lists, the Bearer scheme, cookies read as
// the session method reads them, and query parameters however encoded. The
// real node parsing is proven end to end in test/e2e/credential-rules.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayRequest } from '../../shared/http/gateway-io.js';
import { countCredentials, mergeCarriers, type CredentialCarriers } from '../../edge/auth/credentials.js';

const CARRIERS: CredentialCarriers = mergeCarriers([
  { headers: [{ name: 'authorization', scheme: 'bearer ' }], cookies: [], queryParams: [] },
  { headers: [{ name: 'x-api-key' }], cookies: [], queryParams: ['apikey'] },
  { headers: [], cookies: ['gh_session'], queryParams: [] },
]);

/** A request as node hands it over: raw lines in wire order and case, and the headers object it made of them. */
function request(lines: [string, string][]): GatewayRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) {
    const lower = name.toLowerCase();
    if (lower === 'authorization' && headers[lower] !== undefined) continue; // node keeps the first
    headers[lower] = headers[lower] === undefined ? value : `${headers[lower]}${lower === 'cookie' ? '; ' : ', '}${value}`;
  }
  return { headers, raw: { rawHeaders: lines.flat() } } as unknown as GatewayRequest;
}

function count(lines: [string, string][], search = ''): { n: number; found: string[] } {
  const found: string[] = [];
  const n = countCredentials(CARRIERS, request(lines), search, found);
  assert.equal(countCredentials(CARRIERS, request(lines), search), n, 'the same count without naming them');
  return { n, found };
}

test('no carrier, or one credential in one, is at most one', () => {
  assert.equal(count([['Accept', '*/*']]).n, 0);
  assert.deepEqual(count([['Authorization', 'Bearer a.b.c']]), { n: 1, found: ['authorization header'] });
  assert.equal(count([['X-API-Key', 'gh_k']]).n, 1);
  assert.equal(count([['cookie', 'gh_session=abc; theme=dark']]).n, 1);
  assert.equal(count([], '?apikey=gh_k&page=1').n, 1);
});

test('every line of a carrier header counts, in any case, though node kept only the first', () => {
  assert.deepEqual(count([['Authorization', 'Bearer a'], ['AUTHORIZATION', 'Bearer b']]), { n: 2, found: ['2 authorization header lines'] });
  assert.equal(count([['authorization', 'Basic x'], ['authorization', 'Basic y']]).n, 2, 'two lines are ambiguous whatever the scheme');
  assert.deepEqual(count([['x-api-key', 'k1'], ['X-Api-Key', 'k2']]), { n: 2, found: ['2 x-api-key header lines'] });
});

test('a comma in a carrier value is a list: a bearer token68 and a gateway key never hold one', () => {
  assert.deepEqual(count([['authorization', 'Bearer a, Bearer b, Bearer c']]), { n: 3, found: ['3 comma-joined in one authorization header'] });
  assert.equal(count([['x-api-key', 'k1,k2']]).n, 2);
});

test('an Authorization line with another scheme is not the jwt method\'s credential', () => {
  assert.equal(count([['authorization', 'Basic YWxpY2U6cHc=']]).n, 0);
  assert.equal(count([['authorization', 'Digest username="a", realm="b"']]).n, 0, 'auth-params with commas are left alone');
  assert.equal(count([['authorization', 'Bearer']]).n, 0, 'too short to be a bearer credential, as the jwt method reads it');
  assert.equal(count([['authorization', 'bEaReR t']]).n, 1, 'the scheme in any case');
  assert.deepEqual(count([['authorization', 'Basic x'], ['x-api-key', 'k']]), { n: 1, found: ['x-api-key header'] });
});

test('cookies count once per non-empty pair of the exact name, across Cookie lines', () => {
  assert.deepEqual(count([['cookie', 'gh_session=a'], ['cookie', 'gh_session=b']]), { n: 2, found: ['2 gh_session cookies'] });
  assert.equal(count([['cookie', ' gh_session = a ;gh_session="b"']]).n, 2, 'spaces and quotes as cookieValue reads them');
  assert.equal(count([['cookie', 'gh_session=; gh_session=""; gh_session= ; gh_session=a']]).n, 1, 'empty values are no credential');
  assert.equal(count([['cookie', 'xgh_session=a; gh_session_old=b; gh_session']]).n, 0, 'another name, or no value');
  assert.equal(count([['cookie', 'theme=gh_session; gh_session=a']]).n, 1, 'the name in a value is not a pair');
});

test('query parameters count per occurrence, percent-encoded names included', () => {
  assert.deepEqual(count([], '?apikey=a&apikey=b'), { n: 2, found: ['2 apikey query parameters'] });
  assert.equal(count([], '?api%6Bey=a').n, 1, 'the api-key method decodes the name, so the count does');
  assert.equal(count([], '?apikey').n, 1, 'present without a value: the method refuses it, but it was presented');
  assert.equal(count([], '?apikeys=a&myapikey=b').n, 0);
  assert.deepEqual(count([['x-api-key', 'k']], '?apikey=a'), { n: 2, found: ['x-api-key header', 'apikey query parameter'] });
});

test('carriers of several methods merge with each name once', () => {
  const merged = mergeCarriers([CARRIERS, { headers: [{ name: 'authorization' }], cookies: ['gh_session'], queryParams: ['apikey'] }]);
  assert.deepEqual(merged, CARRIERS);
});
