// Normalises a request target once, at the first hop, so the path that
// routing and authorisation decide on is the path the backend receives.
// Rejects (rather than decodes) encoded slashes, backslashes, encoded dots and
// NUL; resolves dot segments; merges repeated slashes; decodes percent-encoded
// unreserved characters so /%61dmin cannot slip past a rule for /admin.

/** A request target without its query: for matching a raw target, and for logging one, as queries can carry secrets. */
export function withoutQuery(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

export type NormalizedTarget = { readonly path: string; readonly search: string } | undefined;

const UNRESERVED = /^[A-Za-z0-9\-_~]$/;

/** Returns undefined for a target that must be refused with 400. */
export function normalizeTarget(target: string): NormalizedTarget {
  if (target.charCodeAt(0) !== 47 /* / */) return undefined; // absolute-form, authority-form, asterisk
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const search = q === -1 ? '' : target.slice(q);
  const hash = rawPath.indexOf('#');
  if (hash !== -1) return undefined;
  // Fast path: nothing to decode, no dot segment, no empty segment.
  if (rawPath.indexOf('%') === -1 && rawPath.indexOf('/.') === -1 && rawPath.indexOf('//') === -1 && rawPath.indexOf('\\') === -1) {
    return { path: rawPath, search };
  }
  if (rawPath.indexOf('\\') !== -1) return undefined;
  const decoded = decodeUnreserved(rawPath);
  if (decoded === undefined) return undefined;
  return { path: removeDotSegments(decoded), search };
}

function decodeUnreserved(path: string): string | undefined {
  if (path.indexOf('%') === -1) return path;
  let out = '';
  let last = 0;
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 1)) {
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const code = parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c || code === 0x2e || code === 0x00) return undefined;
    const ch = String.fromCharCode(code);
    out += path.slice(last, i) + (UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`);
    last = i + 3;
  }
  return out + path.slice(last);
}

function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '..') out.pop();
    else if (s !== '.' && s !== '') out.push(s);
  }
  const last = segments[segments.length - 1];
  const trailing = segments.length > 1 && (last === '' || last === '.' || last === '..') && out.length > 0;
  return `/${out.join('/')}${trailing ? '/' : ''}`;
}
