// The identity assertion between the tiers, signed and verified in one
// process: what is on the wire, when a cached assertion is reused or renewed,
// and every way a forged, stale or foreign assertion is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { Identity } from '../../shared/auth-types.js';
import { AssertionSigner, AssertionVerifier, IDENTITY_HEADER, type IdentityConfig } from '../../shared/identity.js';
import { parseConfig } from '../../config/load.js';

const SECRET = 'k'.repeat(32);
const OTHER = 'o'.repeat(32);
const config: IdentityConfig = { keys: [{ id: 'k1', secret: SECRET }, { id: 'k0', secret: OTHER }], ttlSeconds: 10 };
const who = (over: Partial<Identity> = {}): Identity => ({ consumer: 'acme', method: 'jwt', scopes: ['a'], roles: ['r'], claims: { tenant: 't1' }, ...over });
const T0 = 1_700_000_000_000;

/** An assertion made by hand, as a forger holding a key (or not) would make it. */
async function forge(over: { payload?: JWTPayload; header?: Record<string, unknown>; secret?: string; iat?: number; exp?: number; omit?: string[] } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { gh: { m: 'jwt', s: ['a'], r: [], c: {} }, sub: 'acme', iss: 'gatehouse-edge', aud: 'gatehouse-router', iat: over.iat ?? now, exp: over.exp ?? now + 60, ...over.payload };
  for (const name of over.omit ?? []) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'gatehouse-identity+jwt', ...over.header } as { alg: string })
    .sign(createSecretKey(Buffer.from(over.secret ?? SECRET)));
}

test('the assertion names the caller, the key and the tiers, and lives ttlSeconds', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const assertion = await new AssertionSigner(config).assertionFor(who({ issuer: 'https://idp.test/' }));
  assert.deepEqual(decodeProtectedHeader(assertion), { alg: 'HS256', kid: 'k1', typ: 'gatehouse-identity+jwt' });
  assert.deepEqual(decodeJwt(assertion), {
    gh: { m: 'jwt', s: ['a'], r: ['r'], c: { tenant: 't1' }, i: 'https://idp.test/' },
    sub: 'acme', iss: 'gatehouse-edge', aud: 'gatehouse-router', iat: T0 / 1000, exp: T0 / 1000 + 10,
  });
  const anonymous = await new AssertionSigner(config).assertionFor(who());
  assert.equal('i' in (decodeJwt(anonymous).gh as object), false, 'no issuer, no i');
  assert.equal(IDENTITY_HEADER, 'x-gatehouse-identity');
});

test('an assertion round-trips to an equal, frozen identity, and a repeat is answered without waiting', async () => {
  const identity = who({ issuer: 'https://idp.test/', claims: { org: { id: 'o1' } } });
  const assertion = await new AssertionSigner(config).assertionFor(identity);
  const verifier = new AssertionVerifier(config);
  const first = await verifier.verify(assertion);
  assert.deepEqual(first, identity);
  assert.ok(Object.isFrozen(first));
  const again = verifier.verify(assertion);
  assert.ok(!(again instanceof Promise), 'a verified assertion is a map lookup');
  assert.equal(again, first);
  const noIssuer = await verifier.verify(await new AssertionSigner(config).assertionFor(who()));
  assert.equal(noIssuer !== undefined && 'issuer' in noIssuer, false);
});

test('the signer reuses an assertion for half its lifetime, then signs a new one', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const signer = new AssertionSigner(config);
  const identity = who();
  const first = await signer.assertionFor(identity);
  t.mock.timers.setTime(T0 + 4_999);
  assert.equal(signer.assertionFor(identity), first, 'the same object: the same string, synchronously');
  assert.equal(signer.assertionFor(who()), first, 'an equal identity shares it');
  t.mock.timers.setTime(T0 + 5_000);
  const renewed = await signer.assertionFor(identity);
  assert.notEqual(renewed, first);
  assert.equal(decodeJwt(renewed).iat, T0 / 1000 + 5);
  assert.equal(signer.assertionFor(who()), renewed, 'the renewed one is shared too');
});

test('an equal identity found by value is still renewed after half the lifetime', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const signer = new AssertionSigner(config);
  const first = await signer.assertionFor(who());
  t.mock.timers.setTime(T0 + 5_000);
  const other = signer.assertionFor(who());
  assert.ok(other instanceof Promise, 'stale: signed again');
  assert.notEqual(await other, first);
});

test('identities that differ in any field never share an assertion', async () => {
  const signer = new AssertionSigner(config);
  const verifier = new AssertionVerifier(config);
  const base = who();
  const variants: Identity[] = [
    base, who({ consumer: 'globex' }), who({ method: 'api-key' }), who({ scopes: ['a', 'admin'] }), who({ roles: ['admin'] }),
    who({ claims: { tenant: 't2' } }), who({ issuer: 'https://a.test/' }), who({ issuer: 'https://b.test/' }),
  ];
  for (const identity of variants) assert.deepEqual(await verifier.verify(await signer.assertionFor(identity)), identity);
});

test('every authentication method name survives the trip', async () => {
  const signer = new AssertionSigner(config);
  const verifier = new AssertionVerifier(config);
  for (const method of ['jwt', 'api-key', 'session', 'mtls', 'anonymous'] as const) {
    assert.equal((await verifier.verify(await signer.assertionFor(who({ method }))))?.method, method);
  }
});

test('the router accepts assertions signed with any configured key, the edge signs with the first', async () => {
  const verifier = new AssertionVerifier(config);
  assert.equal((await verifier.verify(await forge({ header: { kid: 'k0' }, secret: OTHER })))?.consumer, 'acme');
  assert.equal(decodeProtectedHeader(await new AssertionSigner({ keys: [config.keys[1]!, config.keys[0]!], ttlSeconds: 10 }).assertionFor(who())).kid, 'k0');
});

test('a forged, foreign or malformed assertion is refused', async () => {
  const verifier = new AssertionVerifier(config);
  const now = Math.floor(Date.now() / 1000);
  const refused: Record<string, string> = {
    'wrong key': await forge({ secret: 'x'.repeat(32) }),
    'a key id signed with another key': await forge({ header: { kid: 'k0' } }),
    'unknown key id': await forge({ header: { kid: 'k9' } }),
    'no key id': await forge({ header: { kid: undefined } }),
    'another algorithm': await forge({ header: { alg: 'HS512' } }),
    'another typ': await forge({ header: { typ: 'JWT' } }),
    'another issuer': await forge({ payload: { iss: 'someone' } }),
    'another audience': await forge({ payload: { aud: 'gatehouse-edge' } }),
    'expired': await forge({ iat: now - 30, exp: now - 1 }),
    'issued more than 65 s ago': await forge({ iat: now - 70, exp: now + 60 }),
    'no iat': await forge({ omit: ['iat'] }),
    'no exp': await forge({ omit: ['exp'] }),
    'no sub': await forge({ omit: ['sub'] }),
    'a sub that is not a string': await forge({ payload: { sub: 7 as unknown as string } }),
    'no gh': await forge({ omit: ['gh'] }),
    'an unknown method': await forge({ payload: { gh: { m: 'root', s: [], r: [], c: {} } } }),
    'not a JWS': 'not.a.jws',
  };
  for (const [why, assertion] of Object.entries(refused)) assert.equal(await verifier.verify(assertion), undefined, why);
  assert.equal(verifier.verify(undefined), undefined);
});

test('an assertion issued 60 s ago is still believed, as the signer\'s own clock may lag', async () => {
  const now = Math.floor(Date.now() / 1000);
  assert.equal((await new AssertionVerifier(config).verify(await forge({ iat: now - 60, exp: now + 5 })))?.consumer, 'acme');
});

test('lists that hold anything but strings, and claims that are not an object, are emptied', async () => {
  const verifier = new AssertionVerifier(config);
  const identity = await verifier.verify(await forge({ payload: { gh: { m: 'mtls', s: ['a', 1], r: 'admin', c: 'x', i: 5 } } }));
  assert.deepEqual(identity, { consumer: 'acme', method: 'mtls', scopes: [], roles: [], claims: {} });
  const missing = await verifier.verify(await forge({ payload: { gh: { m: 'mtls' } } }));
  assert.deepEqual(missing, { consumer: 'acme', method: 'mtls', scopes: [], roles: [], claims: {} });
});

test('assertions over 8192 characters are refused unread; 8192 is still read', async () => {
  const verifier = new AssertionVerifier(config);
  // base64url skips one length in four, so the header is padded too until the length fits.
  const sized = async (length: number) => {
    for (let extra = 0; extra < 4; extra++) {
      const make = (pad: number) => forge({ header: { x: 'x'.repeat(extra) }, payload: { gh: { m: 'jwt', s: [], r: [], c: { pad: 'p'.repeat(pad) } } } });
      const base = (await make(0)).length;
      const estimate = Math.floor(((length - base) * 3) / 4);
      for (let pad = estimate - 4; pad <= estimate + 4; pad++) {
        const a = await make(pad);
        if (a.length === length) return a;
      }
    }
    throw new Error(`no assertion of ${length} characters`);
  };
  assert.equal((await verifier.verify(await sized(8192)))?.consumer, 'acme');
  assert.equal(verifier.verify(await sized(8193)), undefined, 'refused synchronously, without a signature check');
});

test('a cached assertion stops being believed when it expires', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const verifier = new AssertionVerifier(config);
  const assertion = await new AssertionSigner(config).assertionFor(who());
  assert.equal((await verifier.verify(assertion))?.consumer, 'acme');
  t.mock.timers.setTime(T0 + 9_999);
  assert.equal((verifier.verify(assertion) as Identity | undefined)?.consumer, 'acme');
  t.mock.timers.setTime(T0 + 10_000);
  assert.equal(verifier.verify(assertion), undefined, 'expired: refused from the cache, synchronously');
});

test('a refused assertion is not remembered as good', async () => {
  const verifier = new AssertionVerifier(config);
  const bad = await forge({ payload: { gh: { m: 'root' } } });
  assert.equal(await verifier.verify(bad), undefined);
  assert.equal(await verifier.verify(bad), undefined);
});

test('config: one to many keys with safe ids, a lifetime of 5 to 60 s (60 by default)', () => {
  const load = (identity: unknown) => parseConfig(JSON.stringify({ router: { listen: { port: 1 }, admin: { port: 2 } }, identity }), 'identity-test.yaml').identity;
  assert.equal(load({ keys: [{ id: 'k.1_a-B', secret: SECRET }] }).ttlSeconds, 60);
  assert.equal(load({ keys: [{ id: 'k', secret: SECRET }], ttlSeconds: 5 }).ttlSeconds, 5);
  assert.equal(load({ keys: [{ id: 'k', secret: SECRET }], ttlSeconds: 60 }).ttlSeconds, 60);
  for (const bad of [{ keys: [] }, { keys: [{ id: 'k', secret: SECRET }], ttlSeconds: 61 }, { keys: [{ id: 'k', secret: SECRET }], ttlSeconds: 4 },
    { keys: [{ id: 'k', secret: SECRET }], ttlSeconds: 10.5 }, { keys: [{ id: 'a b', secret: SECRET }] }, { keys: [{ id: '', secret: SECRET }] },
    { keys: [{ id: 'x'.repeat(65), secret: SECRET }] }, { keys: [{ id: 'k', secret: SECRET, extra: 1 }] }, { keys: [{ id: 'k', secret: SECRET }], extra: 1 }]) {
    assert.throws(() => load(bad), Error, JSON.stringify(bad).slice(0, 80));
  }
  assert.equal(load({ keys: [{ id: 'x'.repeat(64), secret: SECRET }] }).keys[0]!.id.length, 64);
});

test('a key whose secret cannot be had names its place in the config', () => {
  assert.throws(() => new AssertionSigner({ keys: [{ id: 'k', secretEnv: 'GH_TEST_NO_SUCH_SECRET' }], ttlSeconds: 60 }, {}), /^Error: identity\.keys\[0\]: the secret must be at least 32 characters/);
  assert.throws(() => new AssertionVerifier({ keys: [{ id: 'a', secret: SECRET }, { id: 'b', secretEnv: 'GH_TEST_NO_SUCH_SECRET' }], ttlSeconds: 60 }, {}), /^Error: identity\.keys\[1\]: the secret must be at least 32 characters/);
});
