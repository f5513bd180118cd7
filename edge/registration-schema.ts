// Config schema of edge.register: how an edge registers itself in Consul (with an HTTP check on its
// readiness), by which the dashboard and operators' tools find every edge. Schema only: the keeping is
// shared/discovery/self-registration.ts's.
import { tierRegistrationPolicy } from '../shared/discovery/self-registration-schema.js';

export const edgeRegistrationPolicy = tierRegistrationPolicy('gatehouse-edge');
