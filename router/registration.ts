// How a router registers itself in Consul: with an HTTP check on its
// readiness endpoint, so edges find routers the way routers find backends and
// routers scale out with no edge change. The keeping (retries, anti-entropy,
// deregistration) is shared/discovery/self-registration.ts's; never repeat it here.
import type { RegistrationTarget } from '../shared/discovery/self-registration.js';

/** A listening router as Consul sees it: checked through its admin /ready, tagged as a router. */
export function routerTarget(listenHost: string, port: number, adminUrl: string, ready: () => boolean): RegistrationTarget {
  return { listenHost, port, checkUrl: `${adminUrl}/ready`, ready, meta: { 'gatehouse-tier': 'router' } };
}
