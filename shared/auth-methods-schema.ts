// The names of the edge's authentication methods, as both tiers know them: the identity assertion the edge
// signs carries one (or "anonymous"), and the router's authz rules name them. The router cannot load the
// edge's registry (edge/auth/registry-schema.ts), so the names the tiers agree on live here, and that
// registry does not compile unless it holds exactly these. Schema only.

/** In the order the reference lists them; session last, as it is made from the others. */
export const AUTH_METHOD_NAMES = ['jwt', 'api-key', 'mtls', 'session'] as const;

export type EdgeAuthMethodName = (typeof AUTH_METHOD_NAMES)[number];

/** What an identity may say it was authenticated by: a method, or nothing (an anonymous route). */
export const IDENTITY_METHOD_NAMES = [...AUTH_METHOD_NAMES, 'anonymous'] as const;

export type AuthMethodName = (typeof IDENTITY_METHOD_NAMES)[number];
