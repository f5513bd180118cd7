// Config schema of the client-header strip list (edge.stripHeaders, routes[].stripHeaders), the default
// list it edits, and the pure building of one route's list, which config/cross-check.ts also checks.
// Schema only: never imports the stage or anything a request runs.
import { Type, type Static } from '@sinclair/typebox';
import { GATEWAY_OWNED, IDENTITY_PREFIX } from '../shared/http/gateway-headers-schema.js';

/**
 * Stripped from every client request unless a route keeps one. An entry is a header name or a prefix
 * ending in "*". Who acts on each is said beside it: a backend behind the gateway trusts them because it
 * trusts "the proxy in front", and the proxy in front is us.
 */
export const DEFAULT_STRIP_HEADERS: readonly string[] = [
  // The real path or method, for IIS URL Rewrite, Symfony and Zend (X-Original-URL, X-Rewrite-URL), Rack,
  // ASP.NET and Express method-override; a path or method other than the one routing and authorization decided on.
  'x-original-*', 'x-rewrite-url', 'x-override-url', 'x-http-method-override', 'x-http-method', 'x-method-override',
  // Next.js runs none of its middleware, authentication included, for a request naming it here (CVE-2025-29927).
  'x-middleware-subrequest',
  // Client address, host and scheme claims that "real client IP" code tries before the socket. The gateway
  // sends its own X-Forwarded-For/-Proto/-Host, worked out before this stage from the socket or a trusted
  // proxy's chain (edge.trustedProxies), so even a trusted proxy's copies of these are not passed on.
  'x-forwarded-*', 'x-forwarded', 'forwarded', 'forwarded-for', 'x-real-ip', 'true-client-ip', 'x-client-ip', 'client-ip',
  'x-cluster-client-ip', 'x-proxyuser-ip', 'x-originating-ip', 'x-remote-ip', 'x-remote-addr', 'x-appengine-user-ip',
  'x-azure-clientip', 'x-azure-socketip', 'x-host', 'front-end-https', 'x-arr-ssl', 'x-url-scheme',
  // CDN-owned namespaces: Cloudflare (CF-Connecting-IP, CF-IPCountry, CF-Visitor, CF-Access-*), Fastly
  // (Fastly-Client-IP, Fastly-FF, Fastly-Debug), Akamai (Akamai-Origin-Hop).
  'cf-*', 'fastly-*', 'akamai-*',
  // Identity as authenticating proxies hand it to the app behind them: Kong, oauth2-proxy, Apache/nginx
  // REMOTE_USER, Grafana's auth proxy, Azure Easy Auth, Google IAP, AWS ALB, Pomerium, TLS-terminating
  // proxies' client certificates. The gateway's own identity headers (x-gatehouse-*) are dropped on every hop besides.
  'x-user-id', 'x-user', 'x-username', 'x-consumer-id', 'x-consumer-username', 'x-consumer-custom-id', 'x-consumer-groups',
  'x-credential-identifier', 'x-authenticated-user', 'x-authenticated-userid', 'x-authenticated-scope', 'x-authenticated-groups',
  'x-remote-user', 'remote-user', 'x-auth-request-*', 'x-webauth-*', 'x-ms-client-principal*', 'x-ms-token-*',
  'x-goog-authenticated-user-*', 'x-goog-iap-jwt-assertion', 'x-amzn-oidc-*', 'x-amzn-mtls-*', 'x-pomerium-*',
  'x-ssl-client-*', 'ssl-client-*', 'x-client-cert', 'x-client-verify',
  // Proxy and mesh control: Envoy's timeouts, retries, routing, stats and fault injection (x-envoy-upstream-rq-timeout-ms,
  // x-envoy-max-retries, x-envoy-fault-abort-request, x-envoy-force-trace...), Istio, Linkerd's l5d-dst-override
  // (a different destination), Kong's request debugging.
  'x-envoy-*', 'x-istio-*', 'l5d-*', 'x-kong-*', 'kong-debug',
  // Debug switches and forced trace sampling: X-Debug*, Envoy's x-client-trace-id, Jaeger's debug id, Zipkin's debug flag.
  'x-debug*', 'x-client-trace-id', 'jaeger-debug-id', 'x-b3-flags',
];

const Entry = Type.String({ pattern: '^[a-z0-9-]+\\*?$', description: 'a lower-case header name, or a prefix ending in * (x-envoy-*)' });

const Edits = {
  add: Type.Array(Entry, { default: [], description: 'client headers to strip besides the list' }),
  keep: Type.Array(Entry, { default: [], description: 'names or prefixes of the list to let through' }),
};

/** edge.stripHeaders: the edge's edits to DEFAULT_STRIP_HEADERS. */
export const StripHeadersSchema = Type.Object(Edits, { additionalProperties: false, default: {}, description: 'edits to the default list of client headers stripped before authentication' });

/** routes[].stripHeaders: the route's edits to the edge's list; absent, none. */
export const RouteStripHeadersSchema = Type.Object(Edits, { additionalProperties: false, description: "the route's edits to the edge's strip list (edge only)" });

export type StripHeadersConfig = Static<typeof StripHeadersSchema>;

/** What one route strips: names, one prefix test, and names kept though a prefix covers them. */
export interface StripList {
  readonly names: ReadonlySet<string>;
  readonly prefixes: RegExp | undefined;
  readonly kept: ReadonlySet<string>;
  /** Each keep that names nothing stripped at that point, or a header the gateway always drops: config errors. */
  readonly problems: readonly { readonly field: 'edge' | 'route'; readonly index: number; readonly message: string }[];
}

/** The default list, edited by edge.stripHeaders, then by the route's stripHeaders. */
export function buildStripList(edge: StripHeadersConfig, route?: StripHeadersConfig): StripList {
  const entries = new Set(DEFAULT_STRIP_HEADERS);
  const kept = new Set<string>();
  const problems: { field: 'edge' | 'route'; index: number; message: string }[] = [];
  const edit = (edits: StripHeadersConfig, field: 'edge' | 'route') => {
    for (const name of edits.add) {
      entries.add(name);
      kept.delete(name);
    }
    edits.keep.forEach((name, index) => {
      const problem = keepProblem(name, entries, kept);
      if (problem !== undefined) problems.push({ field, index, message: problem });
      entries.delete(name);
      if (!name.endsWith('*')) kept.add(name);
    });
  };
  edit(edge, 'edge');
  if (route !== undefined) edit(route, 'route');
  const names = new Set([...entries].filter((e) => !e.endsWith('*')));
  const prefixes = [...entries].filter((e) => e.endsWith('*')).map((e) => e.slice(0, -1));
  return { names, prefixes: prefixes.length > 0 ? new RegExp(`^(?:${prefixes.join('|')})`) : undefined, kept, problems };
}

function keepProblem(name: string, entries: ReadonlySet<string>, kept: ReadonlySet<string>): string | undefined {
  if (GATEWAY_OWNED.has(name) || name.startsWith(IDENTITY_PREFIX)) return `keeps ${name}, which the gateway sets itself: a client's copy is always dropped`;
  const stripped = entries.has(name) || (!name.endsWith('*') && !kept.has(name) && [...entries].some((e) => e.endsWith('*') && name.startsWith(e.slice(0, -1))));
  return stripped ? undefined : `keeps ${name}, which is not stripped here (nothing to keep)`;
}

export function strips(list: StripList, name: string): boolean {
  return (list.names.has(name) || (list.prefixes !== undefined && list.prefixes.test(name))) && !list.kept.has(name);
}
