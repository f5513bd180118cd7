// Config of authentication on one route: which methods may admit a request,
// whether a request with no credential passes as anonymous, and whether the
// credential is removed before the request goes on. The method names are the registry's. Schema only.
import { Type, type Static } from '@sinclair/typebox';
import { namesOf, oneOf } from '../../shared/config/policy-schema.js';
import { AUTH_METHODS } from './registry-schema.js';

export const RouteAuthSchema = Type.Object({
  methods: Type.Array(oneOf(namesOf(AUTH_METHODS)), {
    default: [],
    description: 'tried in order; the first whose credential is present decides',
  }),
  anonymous: Type.Boolean({ default: false, description: 'admit requests without a credential as the consumer "anonymous"' }),
  hideCredentials: Type.Boolean({ default: true, description: 'remove the credential the edge checked (header, query parameter or session cookie) before forwarding' }),
}, { additionalProperties: false });

export type RouteAuthConfig = Static<typeof RouteAuthSchema>;
