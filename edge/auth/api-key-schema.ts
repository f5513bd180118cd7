// Config schema of the api-key method (auth.apiKey): where the key is read from and how long a lookup
// is cached. Schema only: never imports the method or its store.
import { Type, type Static } from '@sinclair/typebox';
import { authMethod } from './method-schema.js';

export const ApiKeyAuthSchema = Type.Object({
  header: Type.String({ default: 'x-api-key', pattern: '^[a-z0-9-]+$', description: 'the header clients send the key in' }),
  queryParam: Type.Optional(Type.String({ minLength: 1, description: 'also accept the key in this query parameter (opt-in)' })),
  // Capped at 1 s: a revocation whose message is lost still lands within it.
  cacheMs: Type.Integer({ minimum: 0, maximum: 1000, default: 500, description: 'how long a lookup is cached locally; bounds how late a lost revocation lands' }),
}, { additionalProperties: false, description: 'API keys kept in Redis (npm run keys); needs redis' });

export type ApiKeyAuthConfig = Static<typeof ApiKeyAuthSchema>;

/** The api-key method in edge/auth/registry-schema.ts. */
export const apiKeyMethod = authMethod({
  name: 'api-key',
  key: 'apiKey',
  schema: ApiKeyAuthSchema,
  crossCheck: (_apiKey, { file }) => (file.redis ? [] : [{ path: [], message: 'API keys live in Redis, so a redis section (or GATEHOUSE_REDIS_URL) is required' }]),
});
