// The request id of a request: a trusted peer's X-Request-Id when it is a
// plain token (so one id follows a request through both tiers), else a new one.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isValidRequestId } from '../ids.js';
import { plainAddress, type TrustFn } from './forwarded.js';

export function requestIdOf(raw: { headers: IncomingHttpHeaders; socket?: { remoteAddress?: string | undefined } | null }, trust: TrustFn): string {
  const given = raw.headers['x-request-id'];
  if (typeof given !== 'string' || !isValidRequestId(given)) return randomUUID();
  return trust(plainAddress(raw.socket?.remoteAddress), 0) ? given : randomUUID();
}
