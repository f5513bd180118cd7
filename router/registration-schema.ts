// Config schema of router.register: how a router registers itself in Consul (with an HTTP check on its
// readiness), by which edges find it. Schema only: the keeping is shared/discovery/self-registration.ts's.
import type { Static } from '@sinclair/typebox';
import { tierRegistrationPolicy } from '../shared/discovery/self-registration-schema.js';

export const registrationPolicy = tierRegistrationPolicy('gatehouse-router');
export const RegistrationSchema = registrationPolicy.schema;
export type RegistrationConfig = Static<typeof RegistrationSchema>;
