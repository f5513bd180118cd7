// A route's authorization: its policy compiled once at config load into one
// decision function, and the stage that applies it after the route matched.
// A request must never pass without a verified identity or on a matcher's error.
import type { Logger } from 'pino';
import type { Identity } from '../../shared/auth-types.js';
import type { Stage } from '../../shared/exchange.js';
import { GatewayError } from '../../shared/errors.js';
import { checkAuthzPolicy, type AuthzDefault, type AuthzPolicy } from './schema.js';
import type { AuthzCheck } from './check.js';
import { AUTHZ_RULES, type AuthzRuleSchemaEntry } from './registry-schema.js';
import { AUTHZ_COMPILERS, type AuthzRuleCompiler } from './registry.js';

/**
 * reason: for the access line, may quote the identity; failure: on a deny, from a closed set (authz:<rule kind>,
 * authz:default-deny, authz:no-identity) for the auth-failure metrics, never naming a consumer or a claim's value.
 */
export interface AuthzDecision { readonly allowed: boolean; readonly reason: string; readonly failure?: string }
export type AuthzDecide = (identity: Identity, method: string) => AuthzDecision;

const ALLOWED: AuthzDecision = Object.freeze({ allowed: true, reason: 'allowed by policy' });
const BY_DEFAULT: Readonly<Record<AuthzDefault, AuthzDecision>> = {
  deny: Object.freeze({ allowed: false, reason: 'no policy: default deny', failure: 'authz:default-deny' }),
  allow: Object.freeze({ allowed: true, reason: 'no policy: default allow' }),
};
const NO_IDENTITY: AuthzDecision = Object.freeze({ allowed: false, reason: 'no verified identity', failure: 'authz:no-identity' });

/**
 * Every configured matcher must pass; the first failure is the reason. An
 * empty policy ({}) allows: it is how one route opts out of a default deny.
 * Throws on a policy checkAuthzPolicy refuses, so a bad one can never load.
 */
export function compileAuthz(policy: AuthzPolicy | undefined, defaultDecision: AuthzDefault): AuthzDecide {
  if (policy === undefined) {
    const decision = BY_DEFAULT[defaultDecision];
    return () => decision;
  }
  const problems = checkAuthzPolicy(policy);
  if (problems.length > 0) throw new Error(`invalid authz policy: ${problems.join('; ')}`);
  const { checks, failures } = matchers(policy);
  return (identity, method) => {
    for (let i = 0; i < checks.length; i++) {
      const failed = checks[i]!(identity, method);
      if (failed !== undefined) return { allowed: false, reason: failed, failure: failures[i]! };
    }
    return ALLOWED;
  };
}

const RULE_BY_NAME = new Map(AUTHZ_RULES.map((rule) => [rule.name, rule]));
/** The compilers' order (router/authz/registry.ts), not the schema's. */
const CHECK_ORDER = Object.keys(AUTHZ_COMPILERS).map((name) => RULE_BY_NAME.get(name as AuthzRuleSchemaEntry['name'])!);

/** The checks in order, and beside each the failure its rule kind reports (built here, so a deny allocates no string). */
function matchers(p: AuthzPolicy): { checks: AuthzCheck[]; failures: string[] } {
  const checks: AuthzCheck[] = [];
  const failures: string[] = [];
  for (const rule of CHECK_ORDER) {
    const section = p[rule.key];
    if (section === undefined) continue;
    // Each compiler takes the rule under its own key, which its schema validated.
    const compile: AuthzRuleCompiler<never> = AUTHZ_COMPILERS[rule.name];
    for (const check of compile(section as never)) {
      checks.push(check);
      failures.push(`authz:${rule.name}`);
    }
  }
  return { checks, failures };
}

// The access line of every request shows authDetail, which is how each decision is logged with its reason.
const ALLOW_DETAILS = new Map([ALLOWED, BY_DEFAULT.allow].map((d) => [d.reason, Object.freeze({ authz: 'allow', authzReason: d.reason })]));

/**
 * Stage: decide on the verified identity and the request method; 403
 * forbidden on deny, whose reply never carries the reason. The optional
 * logger gets a debug line with the identity's grants, for "why was I refused".
 */
export function authorize(decide: AuthzDecide, log?: Pick<Logger, 'debug' | 'isLevelEnabled'>): Stage {
  return (ex, request) => {
    const identity = ex.identity;
    const decision = identity === undefined ? NO_IDENTITY : decide(identity, request.method);
    const detail = (decision.allowed && ALLOW_DETAILS.get(decision.reason))
      || { authz: decision.allowed ? 'allow' : 'deny', authzReason: decision.reason };
    ex.authDetail = ex.authDetail === undefined ? detail : { ...ex.authDetail, ...detail };
    if (log?.isLevelEnabled('debug')) {
      log.debug({ event: 'authz', requestId: ex.requestId, route: ex.route?.name, consumer: identity?.consumer, scopes: identity?.scopes, roles: identity?.roles, ...detail });
    }
    if (!decision.allowed) {
      ex.authFailure = decision.failure;
      throw new GatewayError('forbidden', decision.reason);
    }
  };
}
