// The Node floor: the least any Node proxy hop can cost on this machine, a
// node:http server forwarding every request over one undici Pool. With a key
// and certificate it terminates TLS the way the edge does (HTTP/2 server with
// HTTP/1.1 allowed, Nagle off): the first hop of the two-hop floor, and the
// Node floor of the HTTP/2 cases (an HTTP/2 request names its host in :authority).
// Run: node dist/bench/node-floor.js LISTEN_PORT UPSTREAM_ORIGIN [KEY_FILE CERT_FILE]
import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { RawRequest, RawResponse } from '../shared/http/gateway-io.js';

const [port = '0', upstream = 'http://127.0.0.1:1', keyFile, certFile] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
const forward = (req: RawRequest, res: RawResponse) => {
  pool.request({ method: 'GET', path: req.url ?? '/', headers: { host: req.headers.host ?? String(req.headers[':authority'] ?? '') } }).then((up) => {
    res.statusCode = up.statusCode;
    res.setHeader('content-type', String(up.headers['content-type'] ?? 'application/json'));
    up.body.pipe(res);
  }, () => { res.statusCode = 502; res.end(); });
};
const server = keyFile === undefined || certFile === undefined ? createServer(forward)
  : createSecureServer({ key: readFileSync(keyFile), cert: readFileSync(certFile), allowHTTP1: true, noDelay: true }, forward);
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile (bench:profile)
