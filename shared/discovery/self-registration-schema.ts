// Config of a process registering itself in Consul (a router, the demo backend): the service name, the
// address others use, the check's timing. Schema only: the keeping is shared/discovery/self-registration.ts's.
import { Type, type Static } from '@sinclair/typebox';
import { policy } from '../config/policy-schema.js';

/** The registration settings; each user gives its own default service name. */
export function selfRegistrationSchema(defaultService: string) {
  return Type.Object({
    service: Type.String({ minLength: 1, default: defaultService, description: 'the service name registered in Consul' }),
    advertiseAddress: Type.Optional(Type.String({ minLength: 1, description: 'the address others use; default: the listen host' })),
    tags: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'tags of the registration' }),
    checkIntervalSeconds: Type.Integer({ minimum: 1, default: 2, description: 'how often Consul checks the readiness endpoint' }),
    deregisterCriticalAfterSeconds: Type.Integer({ minimum: 60, default: 300, description: 'Consul removes a registration critical this long' }),
    antiEntropySeconds: Type.Integer({ minimum: 1, default: 5, description: 'how often the local agent is asked whether it still holds this registration; a forgotten one is registered again' }),
  }, { additionalProperties: false });
}

export type SelfRegistrationConfig = Static<ReturnType<typeof selfRegistrationSchema>>;

/** A tier's own registration (edge.register, router.register): it needs Consul to register in. */
export function tierRegistrationPolicy<const D extends string>(defaultService: D) {
  return policy<{ readonly consul?: unknown }>()({
    name: 'registration',
    key: 'register',
    schema: selfRegistrationSchema(defaultService),
    crossCheck: (_register, file) => (file.consul ? [] : [{ path: [], message: 'registering in Consul needs a consul section (or GATEHOUSE_CONSUL_ADDR)' }]),
  });
}
