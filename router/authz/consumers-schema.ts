// The consumers rule kind of an authz policy: who may pass, who never does. Schema only: matching is
// router/authz/consumers.ts's.
import { Type, type Static } from '@sinclair/typebox';
import { authzRule, Name, problem, Strict } from './rule-schema.js';

const ConsumersRuleSchema = Type.Object({
  allow: Type.Optional(Type.Array(Name, { description: 'when given, only these consumers' })),
  deny: Type.Optional(Type.Array(Name, { description: 'refused even when also allowed' })),
}, Strict);

export type ConsumersRule = Static<typeof ConsumersRuleSchema>;

export const consumersRule = authzRule({
  name: 'consumers',
  key: 'consumers',
  schema: ConsumersRuleSchema,
  crossCheck: (rule) => (rule.allow === undefined && rule.deny === undefined
    ? [problem('consumers: expected allow or deny, found an empty object (it would allow everyone)')]
    : []),
});
