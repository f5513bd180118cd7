// The Node floor: the least any Node proxy hop can cost on this machine, a
// node:http server forwarding every request over one undici Pool.
// Run: node dist/bench/node-floor.js LISTEN_PORT UPSTREAM_ORIGIN
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port = '0', upstream = 'http://127.0.0.1:1'] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
createServer((req, res) => {
  pool.request({ method: 'GET', path: req.url ?? '/', headers: { host: req.headers.host ?? '' } }).then((up) => {
    res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
    up.body.pipe(res);
  }, () => { res.statusCode = 502; res.end(); });
}).listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile (bench:profile)
