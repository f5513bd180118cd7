// The affinity key a consistent-hashing service balances on, compiled once
// from its hashOn setting: a header, a cookie, or the client address (as
// worked out from trusted proxies only).
import type { GatewayRequest } from '../http/gateway-io.js';
import type { Exchange } from '../exchange.js';
import { cookieValue } from '../http/cookies.js';

export type HashKeyFn = (ex: Exchange, request: GatewayRequest) => string | undefined;

export function hashKeyFn(hashOn: string | undefined): HashKeyFn | undefined {
  if (hashOn === undefined) return undefined;
  if (hashOn === 'client-ip') return (ex) => ex.forwarded?.clientIp;
  if (hashOn.startsWith('header:')) {
    const name = hashOn.slice(7);
    return (_ex, request) => {
      const v = request.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
  }
  const cookie = hashOn.slice(7);
  return (_ex, request) => cookieValue(request.headers.cookie, cookie);
}
