// The factory of each authentication method, under the name edge/auth/registry-schema.ts gives it: the
// compiler refuses a method of that registry with no factory here, or one whose factory takes another
// section than its schema's. Runtime: only the edge loads this, never config/.
import type { Static } from '@sinclair/typebox';
import type { AuthMethodFactory } from './method.js';
import type { AuthMethodSchemaEntry } from './registry-schema.js';
import { jwtFactory } from './jwt.js';
import { apiKeyFactory } from './api-key.js';
import { mtlsFactory } from '../tls/client-certificate.js';
import { sessionFactory } from './session.js';

export const AUTH_FACTORIES: { readonly [E in AuthMethodSchemaEntry as E['name']]: AuthMethodFactory<Static<E['schema']>> } = {
  jwt: jwtFactory,
  'api-key': apiKeyFactory,
  mtls: mtlsFactory,
  session: sessionFactory,
};
