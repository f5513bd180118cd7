// Config schema of router.register: how a router registers itself in Consul, and its cross-check. Schema
// only: never imports the registration's runtime (shared/discovery/self-registration.ts's keeping,
// router/registration.ts's routerTarget).
import type { Static } from '@sinclair/typebox';
import { selfRegistrationSchema } from '../shared/discovery/self-registration-schema.js';
import { policy } from '../shared/config/policy-schema.js';
import type { SharedFileConfig } from '../shared/config/schema.js';

export const RegistrationSchema = selfRegistrationSchema('gatehouse-router');

export type RegistrationConfig = Static<typeof RegistrationSchema>;

/** The router's registration policy: it needs Consul to register in. */
export const registrationPolicy = policy<SharedFileConfig>()({
  name: 'registration',
  key: 'register',
  schema: RegistrationSchema,
  crossCheck: (_register, file) => (file.consul ? [] : [{ path: [], message: 'registering in Consul needs a consul section (or GATEHOUSE_CONSUL_ADDR)' }]),
});
