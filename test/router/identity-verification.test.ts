// The router's first stage on its own: a request without a valid identity
// assertion is refused with 401, and a verified identity reaches the backend
// as x-gatehouse-* structured fields (RFC 9651).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayReply, GatewayRequest } from '../../shared/http/gateway-io.js';
import { Exchange } from '../../shared/exchange.js';
import { GatewayError } from '../../shared/errors.js';
import type { Identity } from '../../shared/auth-types.js';
import { AssertionSigner, AssertionVerifier, IDENTITY_HEADER } from '../../shared/identity.js';
import { verifyIdentity } from '../../router/verify-identity.js';
import { parseSfItem } from '../harness/structured-fields.js';

const config = { keys: [{ id: 'k1', secret: 'k'.repeat(32) }], ttlSeconds: 60 };
const signer = new AssertionSigner(config);
const who = (over: Partial<Identity> = {}): Identity => ({ consumer: 'acme', method: 'jwt', scopes: [], roles: [], claims: {}, ...over });

/** Runs the stage on a request with these headers; the exchange, or the refusal. */
async function admit(headers: Record<string, unknown>, stage = verifyIdentity(new AssertionVerifier(config))): Promise<Exchange | GatewayError> {
  const ex = new Exchange('r1');
  try {
    await stage(ex, { headers } as unknown as GatewayRequest, {} as GatewayReply);
    return ex;
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err;
  }
}

test('no assertion: 401, saying the request did not come through an edge', async () => {
  const refused = await admit({});
  assert.ok(refused instanceof GatewayError);
  assert.equal(refused.code, 'unauthorized');
  assert.equal(refused.reason, 'no identity assertion (request did not come through an edge)');
  assert.deepEqual(refused.headers, { 'www-authenticate': 'Bearer realm="gatehouse"' });
});

test('a forged or repeated assertion header: 401 invalid identity assertion', async () => {
  const good = await signer.assertionFor(who());
  for (const header of ['forged', `${good}x`, [good, good]]) {
    const refused = await admit({ [IDENTITY_HEADER]: header });
    assert.ok(refused instanceof GatewayError, String(header));
    assert.equal(refused.reason, 'invalid identity assertion');
    assert.deepEqual(refused.headers, { 'www-authenticate': 'Bearer realm="gatehouse"' });
  }
});

test('a verified identity is kept for authorization and sent to the backend as x-gatehouse-* headers', async () => {
  const identity = who({ consumer: 'svc-1', method: 'api-key', scopes: ['orders:read', 'orders:write'], roles: ['admin', 'ops'], claims: { keyId: 'abc', labels: { team: 'billing' } } });
  const ex = await admit({ [IDENTITY_HEADER]: await signer.assertionFor(identity) });
  assert.ok(ex instanceof Exchange);
  assert.deepEqual(ex.identity, identity);
  assert.deepEqual(ex.upstreamHeaders, {
    'x-gatehouse-consumer': '"svc-1"',
    'x-gatehouse-auth-method': '"api-key"',
    'x-gatehouse-scopes': '"orders:read", "orders:write"',
    'x-gatehouse-roles': '"admin", "ops"',
    'x-gatehouse-claims': '"{\\"keyId\\":\\"abc\\",\\"labels\\":{\\"team\\":\\"billing\\"}}"',
  });
});

test('no claims, no claims header; an empty list of scopes or roles is left out, as RFC 9651 says of empty lists', async () => {
  const ex = await admit({ [IDENTITY_HEADER]: await signer.assertionFor(who({ method: 'anonymous', consumer: 'anonymous' })) });
  assert.ok(ex instanceof Exchange);
  assert.deepEqual(ex.upstreamHeaders, { 'x-gatehouse-consumer': '"anonymous"', 'x-gatehouse-auth-method': '"anonymous"' });
});

test('each value has one reading: %, quotes, spaces and commas stay literal, CR/LF and non-ASCII become a Display String, claims ASCII JSON', async () => {
  const identity = who({ consumer: 'Jos\u00e9\r\nx-admin: 1', roles: ['read admin', '%61dmin'], scopes: ['a,b', 'say "hi"'], claims: { name: 'Zo\u00eb', n: '\x7f' } });
  const ex = await admit({ [IDENTITY_HEADER]: await signer.assertionFor(identity) });
  assert.ok(ex instanceof Exchange);
  assert.deepEqual(ex.upstreamHeaders, {
    'x-gatehouse-consumer': '%"Jos%c3%a9%0d%0ax-admin: 1"',
    'x-gatehouse-auth-method': '"jwt"',
    'x-gatehouse-scopes': '"a,b", "say \\"hi\\""',
    'x-gatehouse-roles': '"read admin", "%61dmin"',
    'x-gatehouse-claims': '"{\\"name\\":\\"Zo\\\\u00eb\\",\\"n\\":\\"\\\\u007f\\"}"',
  });
  assert.deepEqual(JSON.parse(parseSfItem(ex.upstreamHeaders['x-gatehouse-claims']!).value), identity.claims);
  const plain = await admit({ [IDENTITY_HEADER]: await signer.assertionFor(who({ consumer: ' a~b!c "d" ' })) });
  assert.equal(plain instanceof Exchange && plain.upstreamHeaders?.['x-gatehouse-consumer'], '" a~b!c \\"d\\" "');
});

test('an assertion verified before is admitted without a promise, with the same headers', async () => {
  const stage = verifyIdentity(new AssertionVerifier(config));
  const assertion = await signer.assertionFor(who({ consumer: 'repeat' }));
  const first = await admit({ [IDENTITY_HEADER]: assertion }, stage);
  const ex = new Exchange('r2');
  const result = stage(ex, { headers: { [IDENTITY_HEADER]: assertion } } as unknown as GatewayRequest, {} as GatewayReply);
  assert.equal(result, undefined, 'synchronous');
  assert.ok(first instanceof Exchange);
  assert.deepEqual(ex.upstreamHeaders, first.upstreamHeaders);
  assert.equal(ex.identity?.consumer, 'repeat');
  assert.throws(() => stage(new Exchange('r3'), { headers: {} } as unknown as GatewayRequest, {} as GatewayReply), GatewayError, 'a missing assertion is refused synchronously too');
});
