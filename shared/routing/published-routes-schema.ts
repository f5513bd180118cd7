// The schema of an entry of publishedRoutes.allow: which service may publish which paths, hosts and profiles.
// Schema only (config/schema.ts loads it in both tiers); the rules it feeds are in published-routes.ts.
import { Type, type Static } from '@sinclair/typebox';
import { RouteMatchSchema, Strict } from '../config/schema.js';

export const PublishedAllowSchema = Type.Object({
  service: Type.String({ pattern: '^[A-Za-z0-9._*-]+$', description: 'a Consul service name, or a pattern where * stands for any characters (orders-*)' }),
  pathPrefixes: Type.Array(Type.String({ pattern: '^/' }), { minItems: 1, description: 'a published prefix must be one of these or below one, on whole segments (/orders/v2 is below /orders, /ordersx is not)' }),
  hosts: Type.Optional(Type.Array(Type.Optional(RouteMatchSchema.properties.host, false), { minItems: 1, description: 'hosts a published route may name (*.example.com: any name under it); absent: only routes without a host' })),
  profiles: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'keys of publishedRoutes.profiles the service may pick with meta gatehouse-profile' }),
  defaultProfile: Type.Optional(Type.String({ minLength: 1, description: 'the profile of a service that names none; without it such a service is refused' })),
}, Strict);

export type PublishedAllowEntry = Static<typeof PublishedAllowSchema>;
