// Config schema of the session method (auth.session): the cookie, its lifetimes, its endpoints and the
// credentials it may be exchanged for. Schema only: never imports the method or its store.
import { Type, type Static } from '@sinclair/typebox';
import { oneOf, type Problem } from '../../shared/config/policy-schema.js';
import { AUTH_METHOD_NAMES, type EdgeAuthMethodName } from '../../shared/auth-methods-schema.js';
import { authMethod } from './method-schema.js';

type Exchangeable = Exclude<EdgeAuthMethodName, 'session'>;
/** A session is made from any other method's credential, never from another session. */
const EXCHANGEABLE = AUTH_METHOD_NAMES.filter((m): m is Exchangeable => m !== 'session');

export const SessionAuthSchema = Type.Object({
  cookieName: Type.String({ default: 'gh_session', pattern: '^[A-Za-z0-9_-]+$', description: 'the session cookie' }),
  // Path and domain go verbatim into Set-Cookie: no ';', ',' or whitespace, which would add attributes.
  domain: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9.-]+$', description: 'the cookie\'s Domain attribute' })),
  path: Type.String({ default: '/', pattern: '^/[\\x21-\\x2b\\x2d-\\x3a\\x3c-\\x7e]*$', description: 'the cookie\'s Path attribute' }),
  sameSite: Type.Union([Type.Literal('strict'), Type.Literal('lax'), Type.Literal('none')], { default: 'lax', description: 'the cookie\'s SameSite attribute' }),
  idleSeconds: Type.Integer({ minimum: 60, default: 1800, description: 'a session unused this long ends' }),
  absoluteSeconds: Type.Integer({ minimum: 60, default: 43200, description: 'a session ends this long after login, whatever happens' }),
  touchIntervalSeconds: Type.Integer({ minimum: 1, default: 60, description: 'a busy session extends its idle expiry at most once per this long' }),
  loginPath: Type.String({ pattern: '^/', default: '/auth/session', description: 'POST here with a credential to get a session (201)' }),
  logoutPath: Type.String({ pattern: '^/', default: '/auth/logout', description: 'POST here to end the session' }),
  exchange: Type.Array(oneOf(EXCHANGEABLE), { minItems: 1, default: ['jwt', 'api-key'], description: 'the credentials accepted at loginPath' }),
}, { additionalProperties: false, description: 'server-side sessions in Redis, exchanged for another credential at loginPath; needs redis' });

export type SessionAuthConfig = Static<typeof SessionAuthSchema>;

/** The session method in edge/auth/registry-schema.ts. */
export const sessionMethod = authMethod({
  name: 'session',
  key: 'session',
  schema: SessionAuthSchema,
  crossCheck: (session, { file, sectionOf }) => {
    const problems: Problem[] = [];
    if (!file.redis) problems.push({ path: [], message: 'sessions live in Redis, so a redis section (or GATEHOUSE_REDIS_URL) is required' });
    if (session.touchIntervalSeconds >= session.idleSeconds) problems.push({ path: ['touchIntervalSeconds'], message: `must be shorter than idleSeconds (${session.idleSeconds}), or busy sessions expire` });
    session.exchange.forEach((m, i) => {
      const section = sectionOf(m);
      if (!section.configured) problems.push({ path: ['exchange', String(i)], message: `exchanges ${m}, which has no auth.${section.key} section` });
    });
    return problems;
  },
});
