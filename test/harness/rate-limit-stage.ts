// Runs the edge's rate-limit stage once for a caller, without HTTP, and says
// what the client would see: the headers set and the error reply thrown.
import assert from 'node:assert/strict';
import type { GatewayReply, GatewayRequest } from '../../shared/http/gateway-io.js';
import { Exchange } from '../../shared/exchange.js';
import { GatewayError } from '../../shared/errors.js';
import type { Identity } from '../../shared/auth-types.js';
import { rateLimit, type LimiterDeps, type Policy } from '../../edge/ratelimit/limiter.js';

export interface Sent { status?: number; headers: Record<string, string>; error?: GatewayError }

export interface Caller { identity?: Partial<Identity>; ip?: string; headers?: Record<string, string> }

export async function runStage(policies: Policy[], d: LimiterDeps, caller: Caller = {}): Promise<Sent> {
  const ex = new Exchange('r1');
  if (caller.identity) ex.identity = { consumer: 'acme', method: 'jwt', scopes: [], roles: [], claims: {}, ...caller.identity };
  ex.forwarded = { clientIp: caller.ip ?? '192.0.2.1', xForwardedFor: '', proto: 'https', host: 'h', trustedPeer: false };
  const sent: Sent = { headers: {} };
  const reply = { header(name: string, value: string) { sent.headers[name] = value; return reply; } } as unknown as GatewayReply;
  try {
    await rateLimit(policies, d)(ex, { headers: caller.headers ?? {} } as unknown as GatewayRequest, reply);
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    sent.error = err;
  }
  return sent;
}
