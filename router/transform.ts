// Stage: a route's path rewrite and header edits, built only for routes that
// configure them. Rewrites see the normalised path and produce the path the
// backend receives; header edits never touch the x-gatehouse-* identity
// headers, which only the verified identity fills.
import type { Stage } from '../shared/exchange.js';
import type { HeaderEditsConfig, RouteBaseConfig } from '../shared/config/schema.js';
import { compilePathMatcher } from '../shared/routing/path-matcher.js';
import { IDENTITY_PREFIX } from '../shared/http/headers.js';

export function transform(route: RouteBaseConfig): Stage | undefined {
  const rewrite = rewriter(route);
  const request = cleaned(route.requestHeaders);
  const response = cleaned(route.responseHeaders);
  if (rewrite === undefined && request === undefined && response === undefined) return undefined;
  const requestSet = request && Object.keys(request.set).length > 0 ? request.set : undefined;
  const requestRemove = request && request.remove.length > 0 ? request.remove : undefined;
  return (ex) => {
    if (rewrite !== undefined) ex.path = rewrite(ex.path);
    if (requestSet !== undefined) ex.upstreamHeaders = { ...ex.upstreamHeaders, ...requestSet };
    if (requestRemove !== undefined) ex.dropHeaders = ex.dropHeaders === undefined ? requestRemove : [...ex.dropHeaders, ...requestRemove];
    if (response !== undefined) ex.responseEdits = response;
  };
}

function rewriter(route: RouteBaseConfig): ((path: string) => string) | undefined {
  const rw = route.rewrite;
  if (rw === undefined) return undefined;
  const matcher = compilePathMatcher(route.match);
  if (rw.path !== undefined) {
    const template = rw.path;
    return (path) => {
      const params = matcher.params(path) ?? {};
      return template.replace(/\{([^}]*)\}/g, (_, name: string) => params[name] ?? '');
    };
  }
  const prefix = matcher.prefix ?? '/';
  const replacement = rw.replacePrefix ?? '/';
  // Only at the start and on a segment boundary: /api does not rewrite /apiv2.
  return (path) => {
    const rest = prefix === '/' ? path : path.slice(prefix.length);
    const joined = replacement.endsWith('/') ? replacement + rest.replace(/^\//, '') : replacement + rest;
    return joined === '' ? '/' : joined;
  };
}

function cleaned(edits: HeaderEditsConfig | undefined): HeaderEditsConfig | undefined {
  if (edits === undefined) return undefined;
  const own = (name: string) => !name.startsWith(IDENTITY_PREFIX);
  return { set: Object.fromEntries(Object.entries(edits.set).filter(([k]) => own(k))), remove: edits.remove.filter(own) };
}
