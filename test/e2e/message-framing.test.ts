// Requests framed so that two readers could disagree on them (request
// smuggling, Host confusion, transfer codings, CONNECT), sent as raw bytes to
// the edge and straight to the router: each is refused with a JSON 400 and the
// connection closed, and nothing reaches the backend. Cases after
// ../shared/reference/hostile-inputs.md section A (and B14, C05).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { connect as http2Connect } from 'node:http2';
import { readFileSync } from 'node:fs';
import { startGateway, certificates, TEST_IDENTITY, type Gateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/raw.js';
import { waitFor } from '../harness/ports.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

let backend: EchoBackend;
let gw: Gateway;
let assertion: string;

before(async () => {
  backend = await startEchoBackend('framing');
  gw = await startGateway({ routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }], services: { app: { static: [backend.url] } } });
  assertion = await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);
});

after(async () => {
  await gw.close();
  await backend.close();
});

const C = 'Connection: close\r\n';
const REFUSED: Record<string, string> = {
  'Content-Length and Transfer-Encoding (CL.TE)': `POST /cl-te HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n${C}\r\n0\r\n\r\nG`,
  'Transfer-Encoding then Content-Length (TE.CL)': `POST /te-cl HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n${C}\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
  'two Content-Length lines': `POST /cl-cl HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 2\r\n${C}\r\nabc`,
  'Content-Length: 3,2': `POST /cl-list HTTP/1.1\r\nHost: a\r\nContent-Length: 3,2\r\n${C}\r\nabc`,
  'Content-Length: -1': `POST /cl-neg HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n${C}\r\n`,
  'Content-Length: 0x10': `POST /cl-hex HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n${C}\r\n`,
  'a space before the colon': `POST /space HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n${C}\r\nabcde`,
  'Transfer-Encoding: chunked, chunked': `POST /te-twice HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n${C}\r\n0\r\n\r\n`,
  'Transfer-Encoding: gzip': `POST /te-gzip HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n${C}\r\n0\r\n\r\n`,
  'Transfer-Encoding: gzip, chunked': `POST /te-gzip-chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n${C}\r\n3\r\nabc\r\n0\r\n\r\n`,
  'Transfer-Encoding: xchunked': `POST /te-x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n${C}\r\n0\r\n\r\n`,
  'Transfer-Encoding: chunked, then identity': `POST /te-two-lines HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n${C}\r\n0\r\n\r\n`,
  'obs-fold': `GET /fold HTTP/1.1\r\nHost: a\r\nX-User:\r\n\tadmin\r\n${C}\r\n`,
  'bare CR': `GET /cr HTTP/1.1\r\nHost: a\rX-Injected: 1\r\n${C}\r\n`,
  'NUL in a value': `GET /nul HTTP/1.1\r\nHost: a\r\nX-Route: premium\x00\r\n${C}\r\n`,
  'two Host lines': `GET /host-twice HTTP/1.1\r\nHost: a\r\nHost: b\r\n${C}\r\n`,
  'Host: a, b': `GET /host-list HTTP/1.1\r\nHost: a, b\r\n${C}\r\n`,
  'no Host on HTTP/1.1': `GET /no-host HTTP/1.1\r\n${C}\r\n`,
  'asterisk-form target': `GET * HTTP/1.1\r\nHost: a\r\n${C}\r\n`,
  'absolute-form target to a metadata address': `GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n${C}\r\n`,
  'CONNECT': `CONNECT internal:80 HTTP/1.1\r\nHost: internal:80\r\n${C}\r\n`,
};

for (const tier of ['edge', 'router'] as const) {
  test(`the ${tier} refuses ambiguous framing with a JSON 400, closes the connection and forwards nothing`, async () => {
    const url = tier === 'edge' ? gw.edgeUrl : gw.routerUrl;
    const before = backend.received.length;
    for (const [name, bytes] of Object.entries(REFUSED)) {
      // Straight to the router, the request carries a valid identity assertion: only its framing is wrong.
      const sent = tier === 'router' ? bytes.replace('\r\n', `\r\n${IDENTITY_HEADER}: ${assertion}\r\n`) : bytes;
      const r = await rawRequest(url, sent);
      assert.equal(r.status, 400, `${name}: ${r.raw.slice(0, 200)}`);
      assert.equal(r.headers.connection, 'close', name);
      assert.equal(typeof (JSON.parse(r.body) as { requestId?: unknown }).requestId, 'string', `${name}: a JSON error with a request id`);
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(backend.received.slice(before).map((x) => x.url), [], 'the backend saw none of them');
  });
}

test('an HTTP/2 CONNECT gets a JSON 400 with its request id, and an access line naming the client, CONNECT and the authority', async () => {
  const session = http2Connect(gw.edgeUrl, { ca: readFileSync((await certificates).caFile), servername: 'localhost' });
  session.on('error', () => undefined);
  try {
    const before = backend.received.length;
    const stream = session.request({ ':method': 'CONNECT', ':authority': 'internal:80' });
    const [headers, body] = await new Promise<[Record<string, unknown>, string]>((resolve, reject) => {
      let head: Record<string, unknown> = {};
      let text = '';
      stream.on('response', (h) => { head = h; });
      stream.on('data', (c: Buffer) => { text += c.toString(); });
      stream.on('end', () => resolve([head, text]));
      stream.on('error', reject);
    });
    assert.equal(headers[':status'], 400);
    assert.match(String(headers['content-type']), /^application\/json/);
    const reply = JSON.parse(body) as { error: string; requestId: string };
    assert.equal(reply.error, 'bad_request', 'a JSON error, not raw HTTP/1.1 bytes inside a 200');
    assert.equal(reply.requestId, headers['x-request-id']);
    const line = await waitFor('the access line', () => gw.edge.logs.access().find((r) => r.requestId === reply.requestId), 5_000);
    assert.equal(line.method, 'CONNECT');
    assert.equal(line.status, 400);
    assert.equal(line.client, '127.0.0.1');
    assert.match(String(line.reason), /CONNECT internal:80 refused/);
    assert.equal(backend.received.length, before, 'nothing reached the backend');
  } finally {
    session.destroy();
  }
});

test('header names with an underscore never reach the backend, so none can pose as a gateway header to a CGI-style reader', async () => {
  const r = await gw.get('/underscore', { headers: { 'x_gatehouse_consumer': 'admin', 'x_client_note': 'admin', 'x-client-note': 'kept' } });
  assert.equal(r.status, 200);
  const seen = backend.received.at(-1)!;
  assert.equal(seen.url, '/underscore');
  assert.equal(seen.headers['x_gatehouse_consumer'], undefined);
  assert.equal(seen.headers['x_client_note'], undefined);
  assert.equal(seen.headers['x-client-note'], 'kept', 'other headers pass');
});

test('a plain chunked body still streams through both tiers', async () => {
  const r = await rawRequest(gw.edgeUrl, `POST /chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: Chunked\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`);
  assert.equal(r.status, 200);
  assert.equal(backend.received.at(-1)!.bodyBytes, 5);
});
