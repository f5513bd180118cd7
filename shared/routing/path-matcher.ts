// The three ways a route matches a path, compiled once: an exact path, a
// prefix on whole segments, or a pattern of segments with :params and an
// optional trailing /*. No regular expressions: matching is linear in the
// path and cannot backtrack.

export interface PathMatcher {
  matches(path: string): boolean;
  /** The :params of a pattern (and '*' for the tail); only rewrite templates ask. */
  params(path: string): Record<string, string> | undefined;
  /** How specific the matcher is, for route ordering. */
  readonly specificity: number;
  /** The prefix a pathPrefix route matched, for prefix rewriting. */
  readonly prefix: string | undefined;
}

export function compilePathMatcher(match: { path?: string | undefined; pathPrefix?: string | undefined; pathPattern?: string | undefined }): PathMatcher {
  if (match.path !== undefined) return exact(match.path);
  if (match.pathPattern !== undefined) return pattern(match.pathPattern);
  return prefix(match.pathPrefix ?? '/');
}

function exact(path: string): PathMatcher {
  return { matches: (p) => p === path, params: () => ({}), specificity: 1_000_000 + path.length, prefix: undefined };
}

function prefix(raw: string): PathMatcher {
  const value = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
  return { matches: (p) => prefixMatches(value, p), params: () => ({}), specificity: value.length * 2, prefix: value };
}

/** Whole segments only: /api matches /api and /api/x, never /apix. */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */;
}

function pattern(raw: string): PathMatcher {
  const parts = raw.split('/').slice(1).filter((s, i, all) => s !== '' || i < all.length - 1);
  const tail = parts[parts.length - 1] === '*';
  const segments = tail ? parts.slice(0, -1) : parts;
  const literalChars = segments.filter((s) => !s.startsWith(':')).join('').length;
  // The root has no segments: as [''] it would never fit the pattern '/'.
  const split = (path: string) => (path === '/' ? [] : path.split('/').slice(1));
  const fits = (got: string[]) => (tail ? got.length > segments.length || (got.length === segments.length) : got.length === segments.length)
    && segments.every((s, i) => (s.startsWith(':') ? got[i] !== undefined && got[i] !== '' : got[i] === s));
  return {
    matches: (path) => fits(split(path)),
    params: (path) => {
      const got = split(path);
      if (!fits(got)) return undefined;
      const params: Record<string, string> = {};
      segments.forEach((s, i) => { if (s.startsWith(':')) params[s.slice(1)] = got[i]!; });
      if (tail) params['*'] = got.slice(segments.length).join('/');
      return params;
    },
    specificity: literalChars * 2 + segments.length,
    prefix: undefined,
  };
}
