// Normalises a request target once, at the first hop, so the path that routing
// and authorisation decide on is the path the backend receives, and one no common
// backend (Node, Go, Tomcat, Jetty, Spring) resolves to another. Never guesses: a path backends read two ways is refused.

// The rule. Refused (400 bad_path): a raw ';', '\' or '#', or a raw byte outside printable ASCII; an escape that
// is malformed, encodes '/', '\', '.', ';' or a control character, or is part of invalid UTF-8 (overlong forms
// such as %C0%AE, surrogates, lone or truncated bytes); an escaped '%' followed by two hex digits (%252F: a second
// decoding would make a new escape). Normalised: dot segments resolved, repeated slashes merged, escapes of
// unreserved characters decoded (/%61dmin is /admin), every other escape kept, in upper case.
// Why ';' is refused, not stripped: servlet containers and Spring drop ';params' from each segment before they
// resolve dot segments (/public/..;/admin is /admin to Tomcat) while Node and Go keep them as text, so no forwarded
// form means one path to both. Normalising is idempotent: the router, normalising again, agrees with the edge.

/** A request target without its query: for matching a raw target, and for logging one, as queries can carry secrets. */
export function withoutQuery(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

export type NormalizedTarget = { readonly path: string; readonly search: string } | undefined;

const UNRESERVED = /^[A-Za-z0-9\-_~]$/;
/** Anything that needs a closer look: an escape, a character refused as sent, a dot or empty segment. */
const NEEDS_WORK = /[%;\\#]|\/[./]|[^\x21-\x7e]/;
/** Refused as sent: a path parameter, a backslash, a fragment, a byte outside printable ASCII (never valid raw in a URI). */
const REFUSED_RAW = /[;\\#]|[^\x21-\x7e]/;
/** Decoded C0, DEL and C1 controls: log and header injection, and NUL truncation in backends written in C. */
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
/** An escaped '%' that a backend decoding twice would turn into a new escape (..%252F is ../ to it). */
const DOUBLE_ENCODED = /%25[0-9A-Fa-f]{2}/;

/** Returns undefined for a target that must be refused with 400. */
export function normalizeTarget(target: string): NormalizedTarget {
  if (target.charCodeAt(0) !== 47 /* / */) return undefined; // absolute-form, authority-form, asterisk
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const search = q === -1 ? '' : target.slice(q);
  if (!NEEDS_WORK.test(rawPath)) return { path: rawPath, search };
  if (REFUSED_RAW.test(rawPath)) return undefined;
  const decoded = decodeUnreserved(rawPath);
  if (decoded === undefined || DOUBLE_ENCODED.test(decoded)) return undefined;
  return { path: removeDotSegments(decoded), search };
}

function decodeUnreserved(path: string): string | undefined {
  if (path.indexOf('%') === -1) return path;
  if (!isCleanUtf8(path)) return undefined;
  let out = '';
  let last = 0;
  // isCleanUtf8 has checked that every '%' starts an escape of two hex digits.
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 3)) {
    const hex = path.slice(i + 1, i + 3);
    const code = parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c || code === 0x2e || code === 0x3b) return undefined; // / \ . ;
    const ch = String.fromCharCode(code);
    out += path.slice(last, i) + (UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`);
    last = i + 3;
  }
  return out + path.slice(last);
}

/** Well-formed escapes that decode, as UTF-8, to no control character; decodeURIComponent refuses overlong forms and surrogates. */
function isCleanUtf8(path: string): boolean {
  try {
    return !CONTROL.test(decodeURIComponent(path));
  } catch {
    return false;
  }
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
