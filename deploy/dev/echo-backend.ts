// A small backend for the demo and the tests: answers every request with
// JSON describing exactly what it received (method, target, headers in wire
// order, body size), so a reader can see what the gateway passed on.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { primaryAddress } from '../../shared/net.js';

export interface EchoReply {
  readonly backend: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
  readonly rawHeaders: string[];
  readonly bodyBytes: number;
}

export interface EchoBackend {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Requests seen, newest last: what a test asserts on. */
  readonly received: EchoReply[];
  close(): Promise<void>;
}

export async function startEchoBackend(name: string, port = 0, host = '127.0.0.1'): Promise<EchoBackend> {
  const received: EchoReply[] = [];
  const server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => { bodyBytes += c.length; });
    req.on('end', () => {
      const reply: EchoReply = { backend: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers as Record<string, string>, rawHeaders: req.rawHeaders, bodyBytes };
      received.push(reply);
      const delay = Number(req.headers['x-echo-delay-ms'] ?? 0);
      // A streamed response: the head at once, the body this much later.
      const bodyDelay = Number(req.headers['x-echo-body-delay-ms'] ?? 0);
      const send = () => {
        const body = JSON.stringify(reply);
        res.writeHead(Number(req.headers['x-echo-status'] ?? 200), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': name });
        if (bodyDelay > 0) {
          res.flushHeaders();
          setTimeout(() => res.end(body), Math.min(bodyDelay, 60_000));
        } else {
          res.end(body);
        }
      };
      if (delay > 0) setTimeout(send, Math.min(delay, 60_000)); else send();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, resolve); });
  const actual = (server.address() as AddressInfo).port;
  return {
    name, port: actual, server, received,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** In containers the demo backend registers itself in Consul with an HTTP check, as a real service would. */
async function registerInConsul(consul: string, name: string, port: number): Promise<() => Promise<void>> {
  const address = primaryAddress();
  const id = `${name}-${hostname()}`;
  const put = (path: string, body?: unknown) => fetch(`${consul}/v1/agent${path}`, { method: 'PUT', ...(body !== undefined && { body: JSON.stringify(body) }) });
  await put('/service/register', { ID: id, Name: name, Address: address, Port: port, Check: { HTTP: `http://${address}:${port}/health`, Interval: '2s', DeregisterCriticalServiceAfter: '1m' } });
  return async () => { await put(`/service/deregister/${id}`).catch(() => undefined); };
}

// Run directly: node dist/deploy/dev/echo-backend.js NAME PORT [HOST]; GATEHOUSE_REGISTER_CONSUL=http://consul:8500 registers it.
if (process.argv[1]?.endsWith('echo-backend.js')) {
  const [name = 'echo', port = '9001', host = '127.0.0.1'] = process.argv.slice(2);
  const backend = await startEchoBackend(name, Number(port), host);
  const consul = process.env.GATEHOUSE_REGISTER_CONSUL;
  const deregister = consul ? await registerInConsul(consul, name, backend.port) : async () => {};
  process.stdout.write(`${JSON.stringify({ level: 'info', tier: 'backend', backend: name, url: backend.url, msg: 'demo backend listening' })}\n`);
  const stop = () => { void deregister().then(() => backend.close()).then(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
