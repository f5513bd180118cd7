// Config schema of the session method (auth.session): the cookie, its lifetimes, its endpoints and the
// credentials it may be exchanged for. Schema only: never imports the method or its store.
import { Type, type Static } from '@sinclair/typebox';

export const SessionAuthSchema = Type.Object({
  cookieName: Type.String({ default: 'gh_session', pattern: '^[A-Za-z0-9_-]+$' }),
  // Path and domain go verbatim into Set-Cookie: no ';', ',' or whitespace, which would add attributes.
  domain: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9.-]+$' })),
  path: Type.String({ default: '/', pattern: '^/[\\x21-\\x2b\\x2d-\\x3a\\x3c-\\x7e]*$' }),
  sameSite: Type.Union([Type.Literal('strict'), Type.Literal('lax'), Type.Literal('none')], { default: 'lax' }),
  idleSeconds: Type.Integer({ minimum: 60, default: 1800 }),
  absoluteSeconds: Type.Integer({ minimum: 60, default: 43200 }),
  touchIntervalSeconds: Type.Integer({ minimum: 1, default: 60 }),
  loginPath: Type.String({ pattern: '^/', default: '/auth/session' }),
  logoutPath: Type.String({ pattern: '^/', default: '/auth/logout' }),
  exchange: Type.Array(Type.Union([Type.Literal('jwt'), Type.Literal('api-key'), Type.Literal('mtls')]), { minItems: 1, default: ['jwt', 'api-key'] }),
}, { additionalProperties: false });

export type SessionAuthConfig = Static<typeof SessionAuthSchema>;
