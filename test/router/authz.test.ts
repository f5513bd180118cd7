// Authorization policies compiled and decided on plain identities: what each matcher
// allows and refuses with which reason, and the config problems refused at load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../shared/auth-types.js';
import { Exchange } from '../../shared/exchange.js';
import { ERRORS, GatewayError } from '../../shared/errors.js';
import { authorize, compileAuthz } from '../../router/authz/policy.js';
import { checkAuthzPolicy, type AuthzPolicy } from '../../router/authz/schema.js';

const who = (over: Partial<Identity> = {}): Identity => ({ consumer: 'acme', method: 'jwt', scopes: [], roles: [], claims: {}, ...over });
const decide = (policy: AuthzPolicy | undefined, identity: Partial<Identity> = {}, method = 'GET') => compileAuthz(policy, 'deny')(who(identity), method);
const allowed = { allowed: true, reason: 'allowed by policy' };
/** failure: the closed-set kind the auth-failure metrics count the deny by. */
const refused = (reason: string, failure: string) => ({ allowed: false, reason, failure });

test('a route without a policy gets the default decision, and says so', () => {
  assert.deepEqual(compileAuthz(undefined, 'deny')(who(), 'GET'), refused('no policy: default deny', 'authz:default-deny'));
  assert.deepEqual(compileAuthz(undefined, 'allow')(who(), 'GET'), { allowed: true, reason: 'no policy: default allow' });
  assert.deepEqual(decide({}), allowed, 'an empty policy is how a route opts out of a default deny');
});

test('scopes allOf needs every scope and names the first missing; anyOf needs at least one', () => {
  const policy = { scopes: { allOf: ['orders:read', 'orders:write'] } };
  assert.deepEqual(decide(policy, { scopes: ['orders:write', 'orders:read', 'x'] }), allowed);
  assert.deepEqual(decide(policy, { scopes: ['orders:read'] }), refused('missing scope orders:write', 'authz:scopes'));
  const any = { scopes: { anyOf: ['orders:read', 'orders:admin'] } };
  assert.deepEqual(decide(any, { scopes: ['orders:admin'] }), allowed);
  assert.deepEqual(decide(any, { scopes: ['users:read'] }), refused('needs a scope among orders:read, orders:admin', 'authz:scopes'));
});

test('roles are checked against the roles, never against a scope of the same name', () => {
  const policy = { roles: { allOf: ['admin'], anyOf: ['eu', 'us'] } };
  assert.deepEqual(decide(policy, { roles: ['admin', 'us'] }), allowed);
  assert.deepEqual(decide(policy, { scopes: ['admin'], roles: ['us'] }), refused('missing role admin', 'authz:roles'));
  assert.deepEqual(decide(policy, { roles: ['admin'] }), refused('needs a role among eu, us', 'authz:roles'));
});

test('a consumer on the deny list is refused even when also allowed; an allow list admits only its own', () => {
  assert.deepEqual(decide({ consumers: { allow: ['acme'], deny: ['acme'] } }), refused('consumer acme is denied', 'authz:consumers'));
  const policy = { consumers: { allow: ['acme', 'globex'] } };
  assert.deepEqual(decide(policy, { consumer: 'globex' }), allowed);
  assert.deepEqual(decide(policy, { consumer: 'initech' }), refused('consumer initech is not allowed', 'authz:consumers'));
  assert.deepEqual(decide({ consumers: { deny: ['initech'] } }, { consumer: 'globex' }), allowed);
});

test('a claim equals compares strictly ("1" is not 1), oneOf needs membership, and a reason quotes at most 100 characters', () => {
  const policy = { claims: [{ claim: 'tier', equals: 1 }] };
  assert.deepEqual(decide(policy, { claims: { tier: 1 } }), allowed);
  assert.deepEqual(decide(policy, { claims: { tier: '1' } }), refused('claim tier is "1", not 1', 'authz:claims'));
  const oneOf = { claims: [{ claim: 'tenant', oneOf: ['a', 7] }] };
  assert.deepEqual(decide(oneOf, { claims: { tenant: 7 } }), allowed);
  assert.deepEqual(decide(oneOf, { claims: { tenant: 'b' } }), refused('claim tenant is "b", not one of ["a",7]', 'authz:claims'));
  assert.equal(decide(oneOf, { claims: { tenant: 'y'.repeat(5000) } }).reason, `claim tenant is "${'y'.repeat(100)}...", not one of ["a",7]`);
});

test('a claim pattern is anchored only as written and never matches a claim that is not a string', () => {
  const anchored = { claims: [{ claim: 'email', pattern: '^[^@]+@acme\\.com$' }] };
  assert.deepEqual(decide(anchored, { claims: { email: 'ann@acme.com' } }), allowed);
  assert.deepEqual(decide(anchored, { claims: { email: 'ann@acme.com.evil' } }), refused('claim email "ann@acme.com.evil" does not match /^[^@]+@acme\\.com$/', 'authz:claims'));
  assert.deepEqual(decide({ claims: [{ claim: 'email', pattern: 'acme' }] }, { claims: { email: 'x@acme.org' } }), allowed);
  const level = { claims: [{ claim: 'level', pattern: '^4' }] };
  assert.deepEqual(decide(level, { claims: { level: 42 } }), refused('claim level is not a string, so cannot match /^4/', 'authz:claims'));
  assert.equal(decide(level, { claims: { level: ['42'] } }).allowed, false);
});

test('a dotted claim is a path into the claims, unless a claim has that whole name', () => {
  const policy = { claims: [{ claim: 'org.id', equals: 'o-1' }] };
  assert.deepEqual(decide(policy, { claims: { org: { id: 'o-1' } } }), allowed);
  assert.deepEqual(decide(policy, { claims: { org: { id: 'o-2' } } }), refused('claim org.id is "o-2", not "o-1"', 'authz:claims'));
  assert.deepEqual(decide({ claims: [{ claim: 'https://acme.com/t', equals: 't' }] }, { claims: { 'https://acme.com/t': 't' } }), allowed);
});

test('a missing claim never matches, not even through inherited names', () => {
  for (const rule of [{ oneOf: ['a'] }, { pattern: '.*' }, { equals: 'a' }]) assert.deepEqual(decide({ claims: [{ claim: 'tenant', ...rule }] }), refused('claim tenant is missing', 'authz:claims'));
  assert.deepEqual(decide({ claims: [{ claim: 'org.id', pattern: '.*' }] }, { claims: { org: 'flat' } }), refused('claim org.id is missing', 'authz:claims'));
  assert.equal(decide({ claims: [{ claim: 'constructor.name', equals: 'Object' }] }).allowed, false);
  assert.equal(decide({ claims: [{ claim: 'toString', pattern: '.*' }] }).allowed, false);
});

test('methods and authMethods admit only the listed names', () => {
  const policy: AuthzPolicy = { methods: ['GET', 'POST'], authMethods: ['mtls', 'api-key'] };
  assert.deepEqual(decide(policy, { method: 'mtls' }, 'POST'), allowed);
  assert.deepEqual(decide(policy, { method: 'mtls' }, 'HEAD'), refused('method HEAD is not one of GET, POST', 'authz:methods'));
  assert.deepEqual(decide(policy, { method: 'jwt' }, 'GET'), refused('authenticated by jwt, not one of mtls, api-key', 'authz:auth-methods'));
});

test('every matcher must pass, and the first failure is the reason', () => {
  const policy: AuthzPolicy = { consumers: { deny: ['evil'] }, scopes: { allOf: ['a'] }, claims: [{ claim: 'tenant', equals: 't' }] };
  assert.deepEqual(decide(policy, { scopes: ['a'], claims: { tenant: 't' } }), allowed);
  assert.deepEqual(decide(policy, { scopes: ['a'], claims: { tenant: 'u' } }), refused('claim tenant is "u", not "t"', 'authz:claims'));
  assert.deepEqual(decide(policy, { consumer: 'evil', claims: { tenant: 'u' } }), refused('consumer evil is denied', 'authz:consumers'));
});

test('config problems are all reported at once, each with its field path', () => {
  const problems = checkAuthzPolicy({ scopes: {}, roles: { anyOf: ['r'] }, claims: [{ claim: 'a', equals: 'x', pattern: 'x' }, { claim: 'b' }, { claim: 'c', pattern: '(' }] });
  assert.deepEqual(problems.slice(0, 3), ['scopes: expected allOf or anyOf, found an empty object (it would allow everyone)',
    'claims[0] (a): expected exactly one of equals, oneOf, pattern; found equals, pattern', 'claims[1] (b): expected exactly one of equals, oneOf, pattern; found none']);
  assert.equal(problems.length, 4);
  assert.match(problems[3]!, /^claims\[2\] \(c\)\.pattern: does not compile: /);
  assert.throws(() => compileAuthz({ claims: [{ claim: 'c', pattern: '(' }] }, 'allow'), /invalid authz policy: claims\[0\]/);
});

test('patterns that could backtrack catastrophically, or are over 256 characters, are refused', () => {
  const problem = (pattern: string) => checkAuthzPolicy({ claims: [{ claim: 'c', pattern }] })[0];
  for (const p of ['(a+)+', '(a*)*', '(a|a)*', '^(?:x\\d+)+$', '((ab)*c)+', '(a?){2,}', 'x'.repeat(257)]) assert.match(problem(p) ?? '', /catastroph|at most 256/, p);
  for (const p of ['^(?:ab)+$', '^[a-z]+(-[a-z]+)?$', '^\\d{3}-\\d+$', '(a|b)', '[(a+)]+', '\\(a+\\)+', '(?<t>ab)+']) assert.equal(problem(p), undefined, p);
});

test('the stage records every decision for the access log and refuses with 403 forbidden', () => {
  const stage = authorize(compileAuthz({ scopes: { allOf: ['a'] } }, 'deny'));
  for (const [identity, authz, authzReason] of [[who({ scopes: ['a'] }), 'allow', 'allowed by policy'], [who(), 'deny', 'missing scope a'], [undefined, 'deny', 'no verified identity']] as const) {
    const ex = Object.assign(new Exchange('r1'), { identity });
    const run = () => stage(ex, { method: 'GET' } as FastifyRequest, {} as FastifyReply);
    if (authz === 'allow') run();
    else assert.throws(run, (err) => err instanceof GatewayError && err.code === 'forbidden' && err.reason === authzReason && ERRORS[err.code].status === 403);
    assert.deepEqual(ex.authDetail, { authz, authzReason });
  }
});
