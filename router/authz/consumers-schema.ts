// The consumers rule kind of an authz policy: who may pass, who never does. Schema only: matching is
// router/authz/consumers.ts's.
import { Type, type Static } from '@sinclair/typebox';
import { authzRule, Name, problem, Strict } from './rule-schema.js';

const ConsumersRuleSchema = Type.Object({
  allow: Type.Optional(Type.Array(Name, { description: 'the only consumers admitted, when given' })),
  deny: Type.Optional(Type.Array(Name, { description: 'consumers refused, even when also allowed' })),
}, { ...Strict, description: 'consumer names allowed or refused; deny always wins' });

export type ConsumersRule = Static<typeof ConsumersRuleSchema>;

export const consumersRule = authzRule({
  name: 'consumers',
  key: 'consumers',
  schema: ConsumersRuleSchema,
  crossCheck: (rule) => (rule.allow === undefined && rule.deny === undefined
    ? [problem('consumers: expected allow or deny, found an empty object (it would allow everyone)')]
    : []),
});
