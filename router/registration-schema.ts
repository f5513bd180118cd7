// Config schema of router.register: how a router registers itself in Consul. Schema only: never imports
// the registration's runtime (shared/discovery/self-registration.ts's keeping, routerTarget).
import type { Static } from '@sinclair/typebox';
import { selfRegistrationSchema } from '../shared/discovery/self-registration.js';

export const RegistrationSchema = selfRegistrationSchema('gatehouse-router');

export type RegistrationConfig = Static<typeof RegistrationSchema>;
