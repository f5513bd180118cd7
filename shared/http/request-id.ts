// The request id of a request: a trusted peer's X-Request-Id when it is a
// plain token (so one id follows a request through both tiers), else a new one.
import type { IncomingHttpHeaders } from 'node:http';
import { isValidRequestId, newRequestId } from '../ids.js';
import type { TrustFn } from './forwarded.js';
import { peerAddress, type AddressedSocket } from './peer-address.js';

export function requestIdOf(raw: { headers: IncomingHttpHeaders; socket?: AddressedSocket | null }, trust: TrustFn): string {
  const given = raw.headers['x-request-id'];
  if (typeof given !== 'string' || !isValidRequestId(given)) return newRequestId();
  return trust(peerAddress(raw.socket), 0) ? given : newRequestId();
}
