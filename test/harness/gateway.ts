// Starts a real router and edge in this process on free loopback ports from
// a config object (validated exactly as a file would be), with their logs
// captured, and an HTTPS client that trusts the test CA.
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { Agent, request, type Dispatcher } from 'undici';
import { parseConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { createLogger } from '../../shared/log.js';
import { ensureDevCertificates, type DevCertificates } from '../../shared/tls/dev-certs.js';
import { buildRouter } from '../../router/app.js';
import { buildEdge } from '../../edge/app.js';
import type { TierRuntime, ListeningAddresses } from '../../shared/runtime.js';
import { LogCapture } from './logs.js';
import { freePort, waitFor } from './ports.js';

/** The HMAC key edge and router share in tests: random per test process. */
export const TEST_IDENTITY = { keys: [{ id: 'test-1', secret: randomBytes(32).toString('base64url') }], ttlSeconds: 60 };

export const certificates: Promise<DevCertificates> = ensureDevCertificates(join(tmpdir(), 'gatehouse-test-certs'));

export interface Tier {
  readonly runtime: TierRuntime;
  readonly logs: LogCapture;
  readonly addresses: ListeningAddresses;
}

export async function startTier(kind: 'edge' | 'router', config: Readonly<Config>): Promise<Tier> {
  const logs = new LogCapture();
  const log = createLogger(kind, 'info', logs);
  const runtime = kind === 'edge' ? buildEdge(config, log) : buildRouter(config, log);
  const addresses = await runtime.listen();
  // As a load balancer would: no traffic before the tier says it is ready (Redis connected, discovery resolved).
  await waitFor(`${kind} readiness`, async () => (await fetch(`${addresses.adminUrl}/ready`)).ok || undefined, 15_000);
  return { runtime, logs, addresses };
}

/** Validates a config object through the same loader a file goes through. */
export function configFrom(doc: unknown): Readonly<Config> {
  return parseConfig(stringify(doc), 'test-config.yaml');
}

export interface GatewayOptions {
  /** Routes without an auth section are public (anonymous) here, so routing tests stay short. */
  readonly routes: Record<string, unknown>[];
  readonly auth?: Record<string, unknown>;
  readonly rateLimits?: Record<string, unknown>;
  /** authorization.default; null leaves the authorization section out, as a file that never sets it (the shipped default). */
  readonly authzDefault?: 'allow' | 'deny' | null;
  readonly edgeExtra?: Record<string, unknown>;
  readonly routerExtra?: Record<string, unknown>;
  /** More of the redis section (tls, timeouts) beside the url. */
  readonly redisExtra?: Record<string, unknown>;
  readonly services: Record<string, unknown>;
  readonly consul?: string;
  /** More consul settings besides the address (snapshotDir, waitSeconds...). */
  readonly consulExtra?: Record<string, unknown>;
  readonly redis?: string;
  readonly edgeTrustedProxies?: string[];
  readonly routerTrustedProxies?: string[];
  readonly routerService?: unknown;
  readonly redirectHttp?: boolean;
  /** More top-level sections both tiers read (telemetry). */
  readonly sharedExtra?: Record<string, unknown>;
}

export interface Gateway {
  /** The validated edge config, to start more edge instances beside the first. */
  readonly edgeConfig: Readonly<Config>;
  readonly routerConfig: Readonly<Config>;
  readonly edge: Tier;
  readonly router: Tier;
  readonly edgeUrl: string;
  readonly routerUrl: string;
  readonly client: Agent;
  get(path: string, init?: Partial<Dispatcher.RequestOptions>): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

export async function httpsClient(allowH2 = false): Promise<Agent> {
  const certs = await certificates;
  return new Agent({ connect: { ca: readFileSync(certs.caFile), servername: 'localhost' }, allowH2 });
}

export async function send(client: Dispatcher, url: string, init: Partial<Dispatcher.RequestOptions> = {}): Promise<Reply> {
  const res = await request(url, { dispatcher: client, ...init } as never);
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
}

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const certs = await certificates;
  const routerPort = await freePort();
  const base = {
    routes: o.routes.map((r) => ({ auth: { anonymous: true }, ...r })),
    services: o.services,
    identity: TEST_IDENTITY,
    // Routes without a policy are open in these tests unless a test says otherwise.
    ...(o.authzDefault !== null && { authorization: { default: o.authzDefault ?? 'allow' } }),
    ...(o.auth && { auth: o.auth }),
    ...(o.rateLimits && { rateLimits: o.rateLimits }),
    ...(o.consul && { consul: { address: o.consul, ...o.consulExtra } }),
    ...(o.redis && { redis: { url: o.redis, ...o.redisExtra } }),
    ...o.sharedExtra,
  };
  // No balancer stands in front of a test's tiers: closing them waits no drain delay unless a test sets one.
  const shutdown = { drainDelayMs: 0 };
  const routerConfig = configFrom({
    ...base,
    router: { listen: { port: routerPort }, admin: { port: 0 }, trustedProxies: o.routerTrustedProxies ?? ['127.0.0.1'], shutdown, ...o.routerExtra },
  });
  const router = await startTier('router', routerConfig);
  const edgeConfig = configFrom({
    ...base,
    edge: {
      listen: { port: 0 }, admin: { port: 0 }, tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }] },
      router: o.routerService ?? { static: [router.addresses.url] },
      trustedProxies: o.edgeTrustedProxies ?? [],
      shutdown,
      ...(o.redirectHttp && { redirectHttp: { port: 0 } }),
      ...o.edgeExtra,
    },
  });
  const edge = await startTier('edge', edgeConfig);
  const client = await httpsClient();
  const edgeUrl = edge.addresses.url;
  return {
    edgeConfig, routerConfig, edge, router, edgeUrl, routerUrl: router.addresses.url, client,
    get: (path, init) => send(client, `${edgeUrl}${path}`, init),
    async close() {
      await client.close().catch(() => undefined); // a test may have closed it already
      await edge.runtime.close();
      await router.runtime.close();
    },
  };
}
