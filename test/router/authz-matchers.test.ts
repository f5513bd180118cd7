// The corners of the authorization matchers: claim paths that are not objects,
// how a refused claim value is quoted, long names cut in reasons, the stage's
// access-log detail and debug line, and the backtracking check on patterns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Identity } from '../../shared/auth-types.js';
import { Exchange } from '../../shared/exchange.js';
import type { GatewayReply, GatewayRequest } from '../../shared/http/gateway-io.js';
import { authorize, compileAuthz, type AuthzDecide } from '../../router/authz/policy.js';
import { compileClaim } from '../../router/authz/claims.js';
import { checkAuthzPolicy, type AuthzPolicy, type ClaimRule } from '../../router/authz/schema.js';

const who = (over: Partial<Identity> = {}): Identity => ({ consumer: 'acme', method: 'jwt', scopes: [], roles: [], claims: {}, ...over });
const decide = (policy: AuthzPolicy, identity: Partial<Identity> = {}, method = 'GET') => compileAuthz(policy, 'deny')(who(identity), method);
const reason = (rule: ClaimRule, claims: Record<string, unknown>) => decide({ claims: [rule] }, { claims }).reason;

test('a claim rule with no operator cannot be compiled, rather than allow everyone', () => {
  assert.throws(() => compileClaim({ claim: 'tenant' }), /^Error: claim matcher for tenant has none of equals, oneOf, pattern$/);
});

test('a dotted path stops at anything that is not an object: null, a string, a number', () => {
  assert.equal(reason({ claim: 'org.id', equals: 'x' }, { org: null }), 'claim org.id is missing');
  assert.equal(reason({ claim: 'name.length', equals: 4 }, { name: 'four' }), 'claim name.length is missing', 'a string\'s length is no claim');
  assert.equal(reason({ claim: 'n.x', equals: 1 }, { n: 5 }), 'claim n.x is missing');
  assert.equal(decide({ claims: [{ claim: 'a.b.c', equals: true }] }, { claims: { a: { b: { c: true } } } }).allowed, true);
});

test('a refused claim value is quoted by kind: numbers and booleans as they are, lists and objects by name', () => {
  const rule = { claim: 'tier', equals: 'gold' };
  assert.equal(reason(rule, { tier: 5 }), 'claim tier is 5, not "gold"');
  assert.equal(reason(rule, { tier: false }), 'claim tier is false, not "gold"');
  assert.equal(reason(rule, { tier: null }), 'claim tier is null, not "gold"');
  assert.equal(reason(rule, { tier: ['gold'] }), 'claim tier is a list, not "gold"');
  assert.equal(reason(rule, { tier: { level: 'gold' } }), 'claim tier is an object, not "gold"');
  assert.equal(reason(rule, { tier: 'x'.repeat(100) }), `claim tier is "${'x'.repeat(100)}", not "gold"`, '100 characters are quoted whole');
  assert.equal(reason(rule, { tier: 'x'.repeat(101) }), `claim tier is "${'x'.repeat(100)}...", not "gold"`);
});

test('a consumer id in a reason is cut to 100 characters; a method to 20', () => {
  const policy = { consumers: { allow: ['acme'] } };
  assert.equal(decide(policy, { consumer: 'c'.repeat(100) }).reason, `consumer ${'c'.repeat(100)} is not allowed`);
  assert.equal(decide(policy, { consumer: 'c'.repeat(101) }).reason, `consumer ${'c'.repeat(100)}... is not allowed`);
  assert.equal(decide({ methods: ['GET'] }, {}, `X${'Y'.repeat(40)}`).reason, `method X${'Y'.repeat(19)} is not one of GET`);
});

test('every problem of a bad policy is in the error, separated by semicolons', () => {
  assert.throws(() => compileAuthz({ scopes: {}, consumers: {} }, 'deny'),
    /^Error: invalid authz policy: scopes: expected allOf or anyOf, found an empty object \(it would allow everyone\); consumers: expected allow or deny, found an empty object \(it would allow everyone\)$/);
  assert.deepEqual(checkAuthzPolicy({ consumers: { deny: ['x'] } }), []);
  assert.deepEqual(checkAuthzPolicy({ roles: {} }), ['roles: expected allOf or anyOf, found an empty object (it would allow everyone)']);
});

test('a pattern of exactly 256 characters is allowed', () => {
  assert.deepEqual(checkAuthzPolicy({ claims: [{ claim: 'c', pattern: 'x'.repeat(256) }] }), []);
  assert.deepEqual(checkAuthzPolicy({ claims: [{ claim: 'c', pattern: 'x'.repeat(257) }] }), ['claims[0] (c).pattern: expected at most 256 characters, found 257']);
});

test('the backtracking check reads classes, escapes, group kinds and counted repeats as the regex engine does', () => {
  const flagged = (pattern: string) => checkAuthzPolicy({ claims: [{ claim: 'c', pattern }] }).length > 0;
  // Safe: nothing repeated inside a repeated group, whatever the characters in a class look like.
  for (const p of ['([+])+', '([\\]+])+', '([ab+*])+', '((ab)c)+', '(a+){1}', '(a+){0,1}', '(a+)?', '(?<t>a)+', '(?:a)+']) assert.equal(flagged(p), false, p);
  // Flagged: a quantifier or alternation inside a group repeated more than once.
  for (const p of ['[a](b+)+', '[abc](d+)+', '(a|(b)c)+', '(?:a+>)+', '(?<=x)(a+)+>', '(?<!x)(a+)+>', 'abcdef(?<t>x)(y+)+',
    '(a+){10}', '(a+){3}', '(a+){2,5}', '(a+){1,}', '(a+){5}', '(ab)c(d+)+', '(a+?)+', '(a+)+?', '(a|b)*']) assert.equal(flagged(p), true, p);
});

/** Runs the authorize stage on an exchange; what the access log and the debug log get. */
function stage(decideFn: AuthzDecide, ex: Exchange, debug = false) {
  const lines: Record<string, unknown>[] = [];
  const log = { isLevelEnabled: (level: string) => debug && level === 'debug', debug: (line: Record<string, unknown>) => { lines.push(line); } };
  let refused: unknown;
  try {
    authorize(decideFn, log as unknown as Parameters<typeof authorize>[1])(ex, { method: 'POST' } as GatewayRequest, {} as GatewayReply);
  } catch (err) {
    refused = err;
  }
  return { lines, refused };
}

test('the decision is added to what the edge already logged about the caller', () => {
  const ex = Object.assign(new Exchange('r1'), { identity: who(), authDetail: { refusedAs: 'anonymous' } });
  stage(compileAuthz({}, 'deny'), ex);
  assert.deepEqual(ex.authDetail, { refusedAs: 'anonymous', authz: 'allow', authzReason: 'allowed by policy' });
  const custom = Object.assign(new Exchange('r2'), { identity: who() });
  stage(() => ({ allowed: true, reason: 'custom rule' }), custom);
  assert.deepEqual(custom.authDetail, { authz: 'allow', authzReason: 'custom rule' });
  const byDefault = Object.assign(new Exchange('r3'), { identity: who() });
  stage(compileAuthz(undefined, 'allow'), byDefault);
  assert.deepEqual(byDefault.authDetail, { authz: 'allow', authzReason: 'no policy: default allow' });
});

test('with debug logging on, each decision is logged with the caller\'s grants; with it off, nothing', () => {
  const identity = who({ consumer: 'globex', scopes: ['s1'], roles: ['r1'] });
  const ex = Object.assign(new Exchange('req-9'), { identity });
  const { lines, refused } = stage(compileAuthz({ scopes: { allOf: ['admin'] } }, 'deny'), ex, true);
  assert.ok(refused);
  assert.deepEqual(lines, [{ event: 'authz', requestId: 'req-9', route: undefined, consumer: 'globex', scopes: ['s1'], roles: ['r1'], authz: 'deny', authzReason: 'missing scope admin' }]);
  const anonymous = stage(compileAuthz({}, 'deny'), new Exchange('req-10'), true);
  assert.deepEqual(anonymous.lines, [{ event: 'authz', requestId: 'req-10', route: undefined, consumer: undefined, scopes: undefined, roles: undefined, authz: 'deny', authzReason: 'no verified identity' }]);
  assert.deepEqual(stage(compileAuthz({}, 'deny'), Object.assign(new Exchange('r'), { identity }), false).lines, []);
});
