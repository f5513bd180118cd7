// The shape of one compiled authorization matcher, shared by policy.ts and the matcher modules it
// composes (claims, consumers, methods, scopes), so that none of them imports policy.ts back.
import type { Identity } from '../../shared/auth-types.js';

/** One configured matcher: undefined when satisfied, otherwise why not. */
export type AuthzCheck = (identity: Identity, method: string) => string | undefined;
