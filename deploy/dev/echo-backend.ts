// A small backend for the demo and the tests: answers every request with
// JSON describing exactly what it received (method, target, headers in wire
// order, body size) and which instance answered, so a reader can see what the
// gateway passed on and where. GET /health is its Consul check, never echoed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Value } from '@sinclair/typebox/value';
import { SelfRegistration, selfRegistrationSchema } from '../../shared/discovery/self-registration.js';
import { createLogger } from '../../shared/log.js';

export interface EchoReply {
  readonly backend: string;
  /** Which replica answered: GATEHOUSE_INSTANCE (or the host name) and the port. */
  readonly instance: string;
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
  readonly instance: string;
  readonly server: Server;
  /** Requests seen, newest last: what a test asserts on. */
  readonly received: EchoReply[];
  close(): Promise<void>;
}

export async function startEchoBackend(name: string, port = 0, host = '127.0.0.1'): Promise<EchoBackend> {
  const received: EchoReply[] = [];
  let instance = '';
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => { bodyBytes += c.length; });
    req.on('end', () => {
      const reply: EchoReply = { backend: name, instance, method: req.method ?? '', url: req.url ?? '', headers: req.headers as Record<string, string>, rawHeaders: req.rawHeaders, bodyBytes };
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
  instance = `${process.env.GATEHOUSE_INSTANCE || hostname()}-${actual}`;
  return {
    name, port: actual, instance, server, received,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/**
 * Registers the backend in Consul as a real service would, through the same module as the routers:
 * an HTTP check on /health, re-registered whenever Consul forgets it, removed by stop().
 */
export function registerEchoBackend(backend: EchoBackend, consulAddress: string, host: string, settings: Record<string, unknown> = {}): SelfRegistration {
  const config = Value.Default(selfRegistrationSchema(backend.name), { service: backend.name, deregisterCriticalAfterSeconds: 60, ...settings }) as never;
  const registration = new SelfRegistration(config, { address: consulAddress }, createLogger('backend', 'info'));
  registration.start({ listenHost: host, port: backend.port, checkUrl: `http://${host.includes(':') ? `[${host}]` : host}:${backend.port}/health`, ready: () => true });
  return registration;
}

// Run directly: node dist/deploy/dev/echo-backend.js NAME PORT [HOST]; GATEHOUSE_REGISTER_CONSUL=http://consul:8500 registers it
// (GATEHOUSE_ANTI_ENTROPY_SECONDS: how often it makes sure Consul still holds it; 5 by default).
if (process.argv[1]?.endsWith('echo-backend.js')) {
  const [name = 'echo', port = '9001', host = '127.0.0.1'] = process.argv.slice(2);
  const backend = await startEchoBackend(name, Number(port), host);
  const consul = process.env.GATEHOUSE_REGISTER_CONSUL;
  const antiEntropy = Number(process.env.GATEHOUSE_ANTI_ENTROPY_SECONDS);
  const registration = consul ? registerEchoBackend(backend, consul, host, antiEntropy > 0 ? { antiEntropySeconds: antiEntropy } : {}) : undefined;
  process.stdout.write(`${JSON.stringify({ level: 'info', tier: 'backend', backend: name, instance: backend.instance, url: backend.url, msg: 'demo backend listening' })}\n`);
  const stop = () => { void (registration?.stop() ?? Promise.resolve()).then(() => backend.close()).then(() => process.exit(0)); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
