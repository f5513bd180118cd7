// The last authentication and authorization refusals a tier answered, for the dashboard's "recent failures":
// a counter says how many, an operator chasing one also wants which route, why, from where, and the request
// id to find its access line. A fixed ring: a flood of bad tokens overwrites it, never grows it. It holds
// only what the access line already says (no credential, no query string, no consumer id).
import type { Exchange } from '../exchange.js';
import type { RawRequest } from '../http/gateway-io.js';
import { peerAddress } from '../http/peer-address.js';
import { withoutQuery } from '../routing/path.js';

export interface AuthFailure {
  readonly at: string;
  readonly status: number;
  readonly reason: string;
  readonly route: string | null;
  readonly method: string;
  readonly path: string;
  readonly client: string;
  readonly requestId: string;
}

const KEPT = 50;
const PATH_CHARS = 256;

export class RecentAuthFailures {
  private readonly ring: (AuthFailure | undefined)[] = new Array<AuthFailure | undefined>(KEPT);
  private next = 0;

  /** An ExchangeEnded observer: only 401 and 403 are kept, so the hot path of a served request does one compare. */
  readonly observe = (ex: Exchange, req: RawRequest, status: number): void => {
    if (status !== 401 && status !== 403) return;
    this.ring[this.next % KEPT] = {
      at: new Date().toISOString(),
      status,
      reason: ex.authFailure ?? ex.errorCode ?? (status === 401 ? 'unauthorized' : 'forbidden'),
      route: ex.route?.name ?? null,
      method: req.method ?? '',
      path: (ex.path || withoutQuery(req.url ?? '')).slice(0, PATH_CHARS),
      client: ex.forwarded?.clientIp ?? peerAddress(req.socket),
      requestId: ex.requestId,
    };
    this.next++;
  };

  /** Newest first. */
  list(): AuthFailure[] {
    const out: AuthFailure[] = [];
    for (let i = 1; i <= Math.min(this.next, KEPT); i++) out.push(this.ring[(this.next - i) % KEPT]!);
    return out;
  }
}
