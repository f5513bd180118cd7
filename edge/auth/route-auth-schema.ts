// Config of authentication on one route: which methods may admit a request,
// whether a request with no credential passes as anonymous, and whether the
// credential is removed before the request goes on.
import { Type, type Static } from '@sinclair/typebox';

export const RouteAuthSchema = Type.Object({
  methods: Type.Array(Type.Union([Type.Literal('jwt'), Type.Literal('api-key'), Type.Literal('mtls'), Type.Literal('session')]), {
    default: [],
    description: 'tried in order; the first whose credential is present decides',
  }),
  anonymous: Type.Boolean({ default: false, description: 'admit requests without a credential as the consumer "anonymous"' }),
  hideCredentials: Type.Boolean({ default: true, description: 'remove the credential the edge checked (header, query parameter or session cookie) before forwarding' }),
}, { additionalProperties: false });

export type RouteAuthConfig = Static<typeof RouteAuthSchema>;
