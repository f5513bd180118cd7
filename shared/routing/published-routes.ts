// Decides which routes services may publish through Consul meta: a pure function of the claims, the
// operator's allow-list and the configured routes, so every instance given the same inputs decides the same.
// Must never let a service claim a path, host or profile outside its allowance, or shadow a configured route.
import { createHash } from 'node:crypto';
import { RouteBaseSchema } from '../config/schema.js';
import type { PublishedAllowEntry } from './published-routes-schema.js';
import { normalizeTarget } from './path.js';
import { compilePathMatcher, prefixMatches } from './path-matcher.js';

/** What one service asks for, as its instances' meta says it (raw strings: refusing a bad one is decided here). */
export interface PublishedClaim {
  /** The Consul service name. */
  readonly service: string;
  /** meta gatehouse-route-prefix */
  readonly prefix: string;
  /** meta gatehouse-route-host */
  readonly host?: string | undefined;
  /** meta gatehouse-profile */
  readonly profile?: string | undefined;
  /** meta gatehouse-route-strip-prefix: "true" or "false" */
  readonly stripPrefix?: string | undefined;
}


/** The part of a configured route that decides whether a claim would shadow it. */
export interface ConfiguredRouteMatch {
  readonly name: string;
  readonly priority: number;
  readonly match: { readonly host?: string | undefined; readonly pathPrefix?: string | undefined; readonly path?: string | undefined; readonly pathPattern?: string | undefined };
}

/** A route granted to a service; the caller completes it with its profile's fields. */
export interface PublishedRoute {
  readonly name: string;
  readonly service: string;
  readonly match: { readonly pathPrefix: string; readonly host?: string };
  readonly priority: number;
  readonly profile: string;
  /** From meta gatehouse-route-strip-prefix; undefined: the profile decides. */
  readonly stripPrefix: boolean | undefined;
}

export interface Refusal { readonly service: string; readonly reason: string }

export type { PublishedAllowEntry };

export interface PublishedRoutesInput {
  readonly claims: readonly PublishedClaim[];
  readonly allow: readonly PublishedAllowEntry[];
  readonly profiles: readonly string[];
  readonly configured: readonly ConfiguredRouteMatch[];
}

export interface PublishedRoutesResult {
  /** Sorted by name. */
  readonly routes: readonly PublishedRoute[];
  /** Sorted by service. */
  readonly refusals: readonly Refusal[];
}

const ROUTE_NAME = new RegExp(RouteBaseSchema.properties.name.pattern!);
// Stricter than a configured route's host: '*' only as a leading '*.' label, as the route table reads it.
const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/;

interface Candidate { readonly route: PublishedRoute; readonly entry: number }

export function resolvePublishedRoutes(input: PublishedRoutesInput): PublishedRoutesResult {
  const refusals: Refusal[] = [];
  const refuse = (service: string, reason: string) => { refusals.push({ service, reason }); };
  // Below every configured route: priority beats any specificity in the route table, so every request a
  // configured route matches still goes to it.
  const priority = Math.min(0, ...input.configured.map((r) => r.priority)) - 1;
  const configured = input.configured.map((r) => ({ r, path: compilePathMatcher(r.match) }));
  const taken = new Set(input.configured.map((r) => r.name));
  const byKey = new Map<string, Candidate[]>();
  // One claim per service (the source reduces instances to one); a duplicate is refused, never guessed at.
  const seen = new Set<string>();
  for (const claim of [...input.claims].sort((a, b) => compare(a.service, b.service))) {
    if (seen.has(claim.service)) { refuse(claim.service, 'claims more than one route'); continue; }
    seen.add(claim.service);
    const decided = decide(claim, input, priority);
    if (typeof decided === 'string') { refuse(claim.service, decided); continue; }
    const { route } = decided;
    const owner = configured.find(({ r, path }) => hostCovers(r.match.host?.toLowerCase(), route.match.host) && path.matches(route.match.pathPrefix));
    if (owner) { refuse(claim.service, `${where(route)} is served by configured route "${owner.r.name}"`); continue; }
    if (taken.has(route.name)) { refuse(claim.service, `route name ${route.name} is taken by a configured route`); continue; }
    const key = `${route.match.host ?? ''}\0${route.match.pathPrefix}`;
    byKey.set(key, [...(byKey.get(key) ?? []), decided]);
  }
  const routes: PublishedRoute[] = [];
  for (const rivals of byKey.values()) {
    // The earliest allow entry wins, then the smallest name: the same answer whatever order Consul lists them in.
    rivals.sort((a, b) => a.entry - b.entry || compare(a.route.service, b.route.service));
    const [winner, ...losers] = rivals as [Candidate, ...Candidate[]];
    for (const l of losers) {
      const why = l.entry === winner.entry ? 'a smaller name' : `an earlier allow entry (${winner.entry} before ${l.entry})`;
      refuse(l.route.service, `${where(l.route)} is also claimed by service "${winner.route.service}", which wins with ${why}`);
    }
    // Two sanitized names can meet only by a hash collision; still never two routes of one name.
    if (routes.some((r) => r.name === winner.route.name)) refuse(winner.route.service, `route name ${winner.route.name} is already published`);
    else routes.push(winner.route);
  }
  routes.sort((a, b) => compare(a.name, b.name));
  refusals.sort((a, b) => compare(a.service, b.service) || compare(a.reason, b.reason));
  return { routes, refusals };
}

/** The route a claim earns on its own, or why it earns none. */
function decide(claim: PublishedClaim, input: PublishedRoutesInput, priority: number): Candidate | string {
  const entry = input.allow.findIndex((e) => globMatches(e.service, claim.service));
  if (entry === -1) return 'no publishedRoutes.allow entry names this service';
  const allowed = input.allow[entry]!;
  const at = `publishedRoutes.allow[${entry}]`;
  const prefixProblem = checkPublishedPrefix(claim.prefix);
  if (prefixProblem) return `gatehouse-route-prefix ${JSON.stringify(claim.prefix)} ${prefixProblem}`;
  const prefix = canonicalPrefix(claim.prefix);
  if (!allowed.pathPrefixes.some((p) => prefixMatches(canonicalPrefix(p), prefix))) {
    return `prefix ${prefix} is outside ${at}.pathPrefixes (${allowed.pathPrefixes.join(', ')})`;
  }
  let host: string | undefined;
  if (claim.host !== undefined) {
    host = claim.host.toLowerCase();
    if (!HOST.test(host)) return `gatehouse-route-host ${JSON.stringify(claim.host)} is not a host name (or *.suffix)`;
    if (!allowed.hosts) return `host ${host} named, but ${at} allows no hosts (only routes without one)`;
    if (!allowed.hosts.some((h) => hostCovers(h.toLowerCase(), host))) return `host ${host} is outside ${at}.hosts (${allowed.hosts.join(', ')})`;
  } else if (allowed.hosts) {
    return `no gatehouse-route-host, but ${at} allows only routes on ${allowed.hosts.join(', ')}`;
  }
  const profile = claim.profile ?? allowed.defaultProfile;
  if (profile === undefined) return `no gatehouse-profile, and ${at} has no defaultProfile`;
  if (!allowed.profiles.includes(profile)) return `profile ${JSON.stringify(profile)} is not one ${at} allows (${allowed.profiles.join(', ')})`;
  if (!input.profiles.includes(profile)) return `profile ${JSON.stringify(profile)} is not defined under publishedRoutes.profiles`;
  const strip = claim.stripPrefix;
  if (strip !== undefined && strip !== 'true' && strip !== 'false') return `gatehouse-route-strip-prefix must be "true" or "false", found ${JSON.stringify(strip)}`;
  const name = publishedRouteName(claim.service);
  if (!ROUTE_NAME.test(name)) return `route name ${name} does not fit ${ROUTE_NAME.source}`;
  return {
    entry,
    route: {
      name, service: claim.service, priority, profile,
      match: { pathPrefix: prefix, ...(host !== undefined && { host }) },
      stripPrefix: strip === undefined ? undefined : strip === 'true',
    },
  };
}

/**
 * published-<service> when the service name is already a route name's shape; otherwise its sanitized form
 * plus a hash of the real name, so that "Orders" and "orders" (or "a.b" and "a-b") never share a name.
 */
export function publishedRouteName(service: string): string {
  const clean = service.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (clean === service && clean !== '') return `published-${clean}`;
  const hash = createHash('sha256').update(service).digest('hex').slice(0, 8);
  return `published-${clean === '' ? '' : `${clean}-`}${hash}`;
}

/** Why a prefix cannot be published (or allowed), or undefined: the path rules a request's path meets. */
export function checkPublishedPrefix(prefix: string): string | undefined {
  if (!prefix.startsWith('/')) return 'does not start with /';
  const canonical = canonicalPrefix(prefix);
  const normal = normalizeTarget(canonical);
  if (normal === undefined) return 'is refused by the path rules (see docs on path normalisation)';
  if (normal.search !== '' || normal.path !== canonical) return `is not in normal form (a request for it reads ${normal.path}${normal.search})`;
  return undefined;
}

/** Why a host cannot be named by an allow entry or a claim, or undefined. */
export function checkPublishedHost(host: string): string | undefined {
  return HOST.test(host.toLowerCase()) ? undefined : 'is not a host name, *.suffix, or either with :port';
}

/** A trailing slash does not change what a prefix matches (path-matcher.ts); comparing needs one spelling. */
function canonicalPrefix(prefix: string): string {
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** Whether every request a route on host `inner` can match is on host `outer` (undefined: any host). */
function hostCovers(outer: string | undefined, inner: string | undefined): boolean {
  if (outer === undefined) return true;
  if (inner === undefined) return false;
  return outer === inner || (outer.startsWith('*.') && inner.endsWith(outer.slice(1)));
}

/** '*' stands for any run of characters; everything else is literal. */
export function globMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = name.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

function where(route: PublishedRoute): string {
  return `${route.match.host ?? ''}${route.match.pathPrefix}`;
}

/** By UTF-16 code unit, never by locale: every instance must order names the same way. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
