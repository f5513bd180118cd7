// The edge's TLS listener over real sockets: which certificate a client is
// served, reload from disk without a restart, protocol and cipher floors,
// and client certificates (mTLS).
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { clientCa as makeClientCa } from '../harness/client-ca.js';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { connect as connectH2, type ClientHttp2Session, type Http2SecureServer, type SecureServerOptions } from 'node:http2';
import { request as requestH1 } from 'node:https';
import fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { Ajv } from 'ajv';
import { ensureDevCertificates, type DevCertificates } from '../../shared/tls/dev-certs.js';
import { CertificateStore } from '../../edge/tls/certificate-store.js';
import { createMtlsMethod } from '../../edge/tls/client-certificate.js';
import type { ConsumerFrom } from '../../edge/tls/client-certificate-schema.js';
import { EdgeTlsSchema, hstsHeaderValue, type EdgeTlsConfig } from '../../edge/tls/schema.js';
import type { AuthOutcome } from '../../edge/auth/method.js';
import { LogCapture } from '../harness/logs.js';
import { waitFor } from '../harness/ports.js';

/** The server's handshake_failure alert: OpenSSL 3.0 (Node 22) calls it SSLV3, OpenSSL 3.5 (Node 24) SSL/TLS. */
const HANDSHAKE_FAILURE = { code: /^ERR_SSL_(SSLV3|SSL\/TLS)_ALERT_HANDSHAKE_FAILURE$/ };

const root = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
after(() => rmSync(root, { recursive: true, force: true }));
let made = 0;
/** A fresh CA and leaf each call: ensureDevCertificates keeps files it finds. */
const certs = (...hosts: string[]) => ensureDevCertificates(join(root, `certs-${made++}`), hosts);
const fingerprint = (c: DevCertificates | string) => new X509Certificate(typeof c === 'string' ? c : readFileSync(c.certFile)).fingerprint256;
const pair = (c: DevCertificates, hosts?: string[]) => ({ cert: c.certFile, key: c.keyFile, ...(hosts && { hosts }) });
const tlsConfig = (certificates: EdgeTlsConfig['certificates'], more: Partial<EdgeTlsConfig> = {}): EdgeTlsConfig =>
  ({ certificates, minVersion: 'TLSv1.2', reloadIntervalMs: 100, handshakeTimeoutMs: 10_000, ...more });

/** Writes beside the file and renames over it, as cert-manager and certbot do. */
function replaceByRename(file: string, content: string | Buffer): void {
  writeFileSync(`${file}.next`, content);
  renameSync(`${file}.next`, file);
}

/** A real HTTP/2 + HTTP/1.1 fastify listener on the store; GET /whoami?from= answers what the mtls method says. */
async function serve(t: TestContext, config: EdgeTlsConfig) {
  const logs = new LogCapture();
  const store = new CertificateStore(config, pino(logs));
  // Typed as an HTTP/1 instance, as the edge's tier app is; auth methods are written against that.
  const app = fastify({ http2: true, https: store.serverOptions() as SecureServerOptions }) as unknown as FastifyInstance;
  app.get<{ Querystring: { from?: ConsumerFrom } }>('/whoami', async (req) =>
    ({ outcome: (await createMtlsMethod({ consumerFrom: req.query.from ?? 'subject-cn' }).authenticate(req)) ?? null }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  store.attach(app.server as unknown as Http2SecureServer);
  store.startWatching();
  t.after(async () => { store.close(); await app.close(); });
  return { port: (app.server.address() as { port: number }).port, logs };
}

function handshake(port: number, options: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The fingerprint of the certificate served; without servername no SNI is sent (the host is an IP). */
async function servedTo(port: number, servername?: string): Promise<string> {
  const socket = await handshake(port, servername ? { servername } : {});
  const served = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return served;
}

/** GET /whoami over HTTP/1.1 or HTTP/2: the mtls method's outcome, null when it stood aside. */
function whoami(via: 'h1' | 'h2', port: number, query: string, tls: ConnectionOptions = {}): Promise<AuthOutcome | null> {
  return new Promise((resolve, reject) => {
    let body = '';
    const read = (res: NodeJS.ReadableStream, close = () => {}) => res.setEncoding('utf8').on('data', (c: string) => (body += c))
      .on('error', reject).on('end', () => { close(); resolve((JSON.parse(body) as { outcome: AuthOutcome | null }).outcome); });
    const options = { rejectUnauthorized: false, ...tls };
    if (via === 'h1') {
      requestH1({ host: '127.0.0.1', port, path: `/whoami${query}`, agent: false, ...options }, (res) => read(res)).on('error', reject).end();
    } else {
      const session = connectH2(`https://127.0.0.1:${port}`, options).on('error', reject);
      read(session.request({ ':path': `/whoami${query}` }), () => session.close());
    }
  });
}

const clientCa = () => makeClientCa(root);

test('each SNI name is served its own certificate; an unknown name or no SNI gets the first one', async (t) => {
  const [a, b] = await Promise.all([certs('a.test'), certs('b.test')]);
  const { port } = await serve(t, tlsConfig([pair(a), pair(b)]));
  assert.equal(await servedTo(port, 'a.test'), fingerprint(a));
  assert.equal(await servedTo(port, 'B.TEST'), fingerprint(b));
  assert.equal(await servedTo(port, 'unknown.test'), fingerprint(a));
  assert.equal(await servedTo(port), fingerprint(a));
  (await handshake(port, { servername: 'b.test', ca: readFileSync(b.caFile), rejectUnauthorized: true })).destroy();
});

test('wildcard hosts serve the names under them: an exact name wins, then the longest suffix', async (t) => {
  const [main, wild, eu, exact] = await Promise.all([certs('main.test'), certs('*.wild.test'), certs('x.test'), certs('only.wild.test')]);
  const { port } = await serve(t, tlsConfig([pair(main), pair(wild), pair(eu, ['*.eu.wild.test']), pair(exact)]));
  assert.equal(await servedTo(port, 'shop.wild.test'), fingerprint(wild));
  assert.equal(await servedTo(port, 'shop.eu.wild.test'), fingerprint(eu));
  assert.equal(await servedTo(port, 'only.wild.test'), fingerprint(exact));
  assert.equal(await servedTo(port, 'wild.test'), fingerprint(main), '*.wild.test does not cover wild.test itself');
  assert.equal(await servedTo(port, 'x.test'), fingerprint(main), 'hosts replaces the names in the certificate');
});

test('a certificate replaced on disk is served on the next handshake, with no restart and open connections kept', async (t) => {
  const [a, b, next] = await Promise.all([certs('a.test'), certs('b.test'), certs('a.test')]);
  const original = fingerprint(a);
  let before: ClientHttp2Session | undefined;
  // Registered ahead of the server's close, which would otherwise wait out the HTTP/2 session timeout.
  t.after(() => before?.destroy());
  const { port, logs } = await serve(t, tlsConfig([pair(a), pair(b)]));
  before = connectH2(`https://127.0.0.1:${port}`, { servername: 'a.test', rejectUnauthorized: false });
  const status = () => new Promise<unknown>((resolve, reject) => {
    before!.request({ ':path': '/whoami' }).on('response', (h) => resolve(h[':status'])).on('error', reject).resume();
  });
  assert.equal(await status(), 200);

  replaceByRename(a.certFile, readFileSync(next.certFile));
  replaceByRename(a.keyFile, readFileSync(next.keyFile));
  await waitFor('the new certificate', async () => (await servedTo(port, 'a.test')) === fingerprint(next) || undefined, 2000);
  assert.equal(await servedTo(port), fingerprint(next), 'clients without SNI get the new default too');
  assert.equal(await servedTo(port, 'b.test'), fingerprint(b));
  assert.equal(await status(), 200, 'the connection opened before the swap still serves requests');
  assert.equal((before!.socket as TLSSocket).getPeerCertificate().fingerprint256, original);
  assert.ok(logs.records.some((r) => r.event === 'tls-reload' && r.file === a.certFile));
});

test('a garbage or mismatched file on disk is logged and the previous certificate keeps serving', async (t) => {
  const [a, next] = await Promise.all([certs('a.test'), certs('a.test')]);
  const original = fingerprint(a);
  const { port, logs } = await serve(t, tlsConfig([pair(a)]));
  const failure = (n: number) => waitFor(`reload failure ${n}`, () => logs.records
    .filter((r) => r.event === 'tls-reload-failed' && r.file === a.certFile)[n - 1] as { err: { message: string } } | undefined, 2000);

  replaceByRename(a.certFile, 'not a certificate\n');
  assert.match((await failure(1)).err.message, /^edge\.tls\.certificates\[0\]\.cert: .* is not a PEM certificate/);
  assert.equal(await servedTo(port, 'a.test'), original);
  assert.equal(await servedTo(port), original);
  // A rotation that lands the certificate long before its key: the gap is logged, never served.
  replaceByRename(a.certFile, readFileSync(next.certFile));
  assert.match((await failure(2)).err.message, /certificates\[0\]\.key: .* is not the private key of/);
  assert.equal(await servedTo(port, 'a.test'), original);
  replaceByRename(a.keyFile, readFileSync(next.keyFile));
  await waitFor('the completed rotation', async () => (await servedTo(port, 'a.test')) === fingerprint(next) || undefined, 2000);
});

test('TLS 1.1 is refused, and minVersion TLSv1.3 refuses TLS 1.2', async (t) => {
  const a = await certs('a.test');
  const [floor12, floor13] = await Promise.all([serve(t, tlsConfig([pair(a)])), serve(t, tlsConfig([pair(a)], { minVersion: 'TLSv1.3' }))]);
  const refused = { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' };
  // SECLEVEL=0 lets the client offer TLS 1.1 at all, so the refusal is the server's.
  await assert.rejects(handshake(floor12.port, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), refused);
  const tls12 = await handshake(floor12.port, { servername: 'a.test', maxVersion: 'TLSv1.2' });
  assert.equal(tls12.getProtocol(), 'TLSv1.2');
  tls12.destroy();
  await assert.rejects(handshake(floor13.port, { servername: 'a.test', maxVersion: 'TLSv1.2' }), refused);
  await assert.rejects(handshake(floor13.port, { maxVersion: 'TLSv1.2' }), refused);
  const tls13 = await handshake(floor13.port, { servername: 'a.test' });
  assert.equal(tls13.getProtocol(), 'TLSv1.3');
  tls13.destroy();
});

test('the configured TLS 1.2 cipher list is enforced, with or without SNI', async (t) => {
  const a = await certs('a.test');
  const { port } = await serve(t, tlsConfig([pair(a)], { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }));
  for (const sni of [{ servername: 'a.test' }, {}]) {
    const tls12 = { ...sni, maxVersion: 'TLSv1.2' } as const;
    await assert.rejects(handshake(port, { ...tls12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }), HANDSHAKE_FAILURE);
    const ok = await handshake(port, { ...tls12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256' });
    assert.equal(ok.getCipher().name, 'ECDHE-ECDSA-AES128-GCM-SHA256');
    ok.destroy();
  }
});

test('mtls: a certificate from the configured CA names the consumer; none, or one from another CA, yields no identity', async (t) => {
  const [a, ca, stranger] = await Promise.all([certs('a.test'), clientCa(), clientCa()]);
  const client = await ca.issue('orders-service', [{ type: 6, value: 'spiffe://corp/ns/shop/sa/cart' }, { type: 1, value: 'cart@corp.test' }]);
  const { port } = await serve(t, tlsConfig([pair(a)], { clientCertificates: { ca: ca.file, required: false } }));
  const identity = { consumer: 'orders-service', method: 'mtls', scopes: [], roles: [], claims: { certificateFingerprint: fingerprint(client.cert) } };
  assert.deepEqual(await whoami('h1', port, '', client), { ok: true, identity });
  assert.deepEqual(await whoami('h2', port, '', { ...client, servername: 'a.test' }), { ok: true, identity });
  assert.deepEqual(await whoami('h2', port, '?from=san-uri', client), { ok: true, identity: { ...identity, consumer: 'spiffe://corp/ns/shop/sa/cart' } });
  assert.deepEqual(await whoami('h1', port, '?from=san-email', client), { ok: true, identity: { ...identity, consumer: 'cart@corp.test' } });
  assert.deepEqual(await whoami('h1', port, '?from=san-dns', client), { ok: false, code: 'invalid_token', reason: 'client certificate has no san-dns' });

  const forged = await stranger.issue('orders-service');
  for (const via of ['h1', 'h2'] as const) {
    assert.equal(await whoami(via, port, ''), null);
    assert.equal(await whoami(via, port, '', { ...forged, servername: 'a.test' }), null);
  }
});

test('mtls required: a client without a trusted certificate cannot complete a request', async (t) => {
  const [a, ca, stranger] = await Promise.all([certs('a.test'), clientCa(), clientCa()]);
  const [client, forged] = await Promise.all([ca.issue('billing'), stranger.issue('billing')]);
  const { port } = await serve(t, tlsConfig([pair(a)], { clientCertificates: { ca: ca.file, required: true } }));
  // TLS 1.3 clients finish their side of the handshake first; the server's alert arrives on the first read.
  await assert.rejects(whoami('h1', port, ''), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
  await assert.rejects(handshake(port, { maxVersion: 'TLSv1.2' }), HANDSHAKE_FAILURE);
  // Node checks the chain once the handshake is done and closes the connection without an alert.
  await assert.rejects(whoami('h1', port, '', { ...forged, servername: 'a.test' }), { code: 'ECONNRESET' });
  assert.equal((await whoami('h2', port, '', client))?.ok, true);
});

test('a certificate that cannot be loaded at start-up is reported with its config field', async () => {
  const [a, b] = await Promise.all([certs('a.test'), certs('b.test')]);
  const build = (config: EdgeTlsConfig) => () => new CertificateStore(config, pino({ level: 'silent' }));
  const [missing, garbage] = [join(root, 'missing-key.pem'), join(root, 'garbage.pem')];
  writeFileSync(garbage, 'garbage');
  assert.throws(build(tlsConfig([pair(a), { cert: b.certFile, key: missing }])), { message: `edge.tls.certificates[1].key: cannot read ${missing}: ENOENT` });
  assert.throws(build(tlsConfig([{ cert: garbage, key: a.keyFile }])), /^Error: edge\.tls\.certificates\[0\]\.cert: .*garbage\.pem is not a PEM certificate/);
  assert.throws(build(tlsConfig([{ cert: a.certFile, key: garbage }])), /^Error: edge\.tls\.certificates\[0\]\.key: .*garbage\.pem is not a PEM private key/);
  assert.throws(build(tlsConfig([{ cert: a.certFile, key: b.keyFile }])), /^Error: edge\.tls\.certificates\[0\]\.key: .* is not the private key of /);
  assert.throws(build(tlsConfig([pair(a)], { ciphers: 'NO-SUCH-CIPHER' })), /^Error: edge\.tls\.ciphers: /);
  assert.throws(build(tlsConfig([pair(a)], { clientCertificates: { ca: garbage, required: false } })), /^Error: edge\.tls\.clientCertificates\.ca: /);
});

test('the TLS config fills its defaults, rejects unknown fields, and HSTS renders as one header value', () => {
  const validate = new Ajv({ useDefaults: true, allErrors: true, strict: false }).compile<EdgeTlsConfig>(EdgeTlsSchema);
  const one = { cert: 'a.pem', key: 'a-key.pem' };
  const doc = { certificates: [one], clientCertificates: { ca: 'ca.pem' }, hsts: {} };
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  assert.deepEqual(doc, { certificates: [one], minVersion: 'TLSv1.2', reloadIntervalMs: 1000, handshakeTimeoutMs: 10_000, clientCertificates: { ca: 'ca.pem', required: false },
    hsts: { maxAgeSeconds: 31_536_000, includeSubDomains: true, preload: false } });
  assert.equal(hstsHeaderValue(doc.hsts!), 'max-age=31536000; includeSubDomains');
  assert.equal(hstsHeaderValue({ maxAgeSeconds: 600, includeSubDomains: false, preload: true }), 'max-age=600; preload');
  for (const bad of [[], [{ ...one, host: ['x'] }], [{ ...one, hosts: ['bad host'] }]]) assert.equal(validate({ certificates: bad }), false);
  assert.equal(validate({ certificates: [one], reloadIntervalMs: 10 }), false);
  assert.equal(validate({ certificates: [one], handshakeTimeoutMs: 0 }), false);
  assert.equal(validate({ certificates: [one], minVersion: 'TLSv1.1' }), false);
});
