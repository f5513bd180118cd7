// Where credentials travel (each method's headers, cookies and query parameters) and how many a request
// presents, so that a request with more than one is refused before any method answers (RFC 6750 2: a client
// uses one method). Counting reads names and separators only, never keeps a credential, and allocates
// nothing unless a query string may hold one or the request is refused.
import type { GatewayRequest } from '../../shared/http/gateway-io.js';
import { peerCertificateOf } from '../tls/client-certificate.js';
import type { CredentialCarriers, HeaderCarrier } from './method.js';

export type { CredentialCarriers, HeaderCarrier } from './method.js';

/** The reason, and the error_description a client gets, when a request presents more than one credential. */
export const AMBIGUOUS = 'more than one credential presented';

export const NO_CARRIERS: CredentialCarriers = Object.freeze({ headers: [], cookies: [], queryParams: [] });

/** The carriers of several methods as one list, each name once: built when the config loads. */
export function mergeCarriers(all: Iterable<CredentialCarriers>): CredentialCarriers {
  const headers = new Map<string, HeaderCarrier>();
  const cookies = new Set<string>();
  const queryParams = new Set<string>();
  for (const c of all) {
    for (const h of c.headers) if (!headers.has(h.name)) headers.set(h.name, h);
    for (const name of c.cookies) cookies.add(name);
    for (const name of c.queryParams) queryParams.add(name);
  }
  return Object.freeze({ headers: [...headers.values()], cookies: [...cookies], queryParams: [...queryParams] });
}

/**
 * A client certificate belongs to the connection, not to the request (a client cannot leave it out of one
 * request): it counts as a credential only where it competes with another of the methods for the decision.
 */
export function certificateCompetes(methods: readonly string[]): boolean {
  return methods.includes('mtls') && methods.length > 1;
}

/** countCredentials, plus a verified client certificate when it competes (certificateCompetes). */
export function presentedCredentials(c: CredentialCarriers, certificate: boolean, request: GatewayRequest, search: string, found?: string[]): number {
  const n = countCredentials(c, request, search, found);
  if (n === 0 || !certificate || peerCertificateOf(request) === undefined) return n;
  found?.push('client certificate');
  return n + 1;
}

/**
 * How many credentials the request presents in these carriers. Every line of a carrier header counts,
 * whatever node kept in request.headers (it keeps only the first Authorization line, on HTTP/1.1 and
 * HTTP/2 alike), and a comma in a value is a list (a bearer token68 and a gateway API key have none).
 * A cookie counts once per non-empty pair of its name; a query parameter once per occurrence.
 * With `found`, each credential is named there, for the refusal's log line.
 */
export function countCredentials(c: CredentialCarriers, request: GatewayRequest, search: string, found?: string[]): number {
  let n = 0;
  const headers = request.headers;
  for (const carrier of c.headers) {
    const value = headers[carrier.name];
    if (value === undefined) continue;
    const lines = lineCount(request.raw.rawHeaders, carrier.name);
    let here = lines;
    if (lines <= 1) {
      const text = typeof value === 'string' ? value : value.join(', ');
      here = carrier.scheme !== undefined && !startsWithLower(text, carrier.scheme) ? 0 : 1 + commas(text);
    }
    if (here > 0 && found !== undefined) found.push(lines > 1 ? `${lines} ${carrier.name} header lines` : here > 1 ? `${here} comma-joined in one ${carrier.name} header` : `${carrier.name} header`);
    n += here;
  }
  const cookie = headers.cookie;
  if (cookie !== undefined) {
    for (const name of c.cookies) {
      if (!cookie.includes(name)) continue;
      const here = cookieCount(cookie, name);
      if (here > 0 && found !== undefined) found.push(here > 1 ? `${here} ${name} cookies` : `${name} cookie`);
      n += here;
    }
  }
  if (search !== '' && c.queryParams.length > 0) {
    for (const name of c.queryParams) {
      if (!mayHoldParam(search, name)) continue;
      const here = new URLSearchParams(search).getAll(name).length;
      if (here > 0 && found !== undefined) found.push(here > 1 ? `${here} ${name} query parameters` : `${name} query parameter`);
      n += here;
    }
  }
  return n;
}

/**
 * Whether a query string may hold the parameter: its name appears, or something is percent-encoded
 * (`?api%6Bey=` is `apikey` to URLSearchParams, which is what the api-key method reads).
 */
export function mayHoldParam(search: string, name: string): boolean {
  return search.includes(name) || search.includes('%');
}

function lineCount(rawHeaders: readonly string[], lowerName: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (equalsLower(rawHeaders[i]!, lowerName)) n++;
  return n;
}

/** ASCII case-insensitive equality with a lower-case name, without making a lower-cased copy. */
function equalsLower(text: string, lower: string): boolean {
  return text.length === lower.length && startsWithLower(text, lower);
}

function startsWithLower(text: string, lower: string): boolean {
  if (text.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function commas(text: string): number {
  let n = 0;
  for (let i = text.indexOf(','); i !== -1; i = text.indexOf(',', i + 1)) n++;
  return n;
}

/** Pairs of this name with a non-empty value, read as shared/http/cookies.ts cookieValue reads them. */
function cookieCount(header: string, name: string): number {
  let n = 0;
  for (let start = 0; start < header.length;) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && trimmedEquals(header, start, eq, name) && hasValue(header, eq + 1, end)) n++;
    start = end + 1;
  }
  return n;
}

function trimmedEquals(text: string, from: number, to: number, name: string): boolean {
  while (from < to && isSpace(text.charCodeAt(from))) from++;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
  return to - from === name.length && text.startsWith(name, from);
}

/** Non-empty once trimmed and unquoted ("" is empty). */
function hasValue(text: string, from: number, to: number): boolean {
  while (from < to && isSpace(text.charCodeAt(from))) from++;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
  const length = to - from;
  return length > 0 && !(length === 2 && text.charCodeAt(from) === 0x22 && text.charCodeAt(from + 1) === 0x22);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
