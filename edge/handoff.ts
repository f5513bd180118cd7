// Stage: hands the caller's identity to the router as a signed assertion
// (x-gatehouse-identity), the only thing the router believes about who is
// asking. Runs once the route's chain authenticated the caller and let it
// through its limits, so a refused request never costs a signature; a
// request nobody authenticated is never signed for (500, never anonymous).
import type { Stage } from '../shared/exchange.js';
import { IDENTITY_HEADER, type AssertionSigner } from '../shared/identity.js';

export function handOff(signer: AssertionSigner): Stage {
  return (ex) => {
    const identity = ex.identity;
    if (identity === undefined) throw new Error(`route ${ex.route?.name}: no identity to hand off (its chain has no authenticate stage)`);
    // Synchronous while the signer has a fresh assertion for this identity, as it does in steady state.
    const assertion = signer.assertionFor(identity);
    if (typeof assertion === 'string') ex.upstreamHeaders = { [IDENTITY_HEADER]: assertion };
    else return assertion.then((signed) => { ex.upstreamHeaders = { [IDENTITY_HEADER]: signed }; });
    return undefined;
  };
}
