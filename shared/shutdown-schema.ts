// Config of the ordered shutdown both tiers share: how long to keep accepting after readiness fails, and
// how long in-flight requests get. Schema only: the steps are shared/shutdown.ts's.
import { Type, type Static } from '@sinclair/typebox';

export const ShutdownSchema = Type.Object({
  drainDelayMs: Type.Integer({ minimum: 0, default: 1_000, description: 'after readiness turns 503 (and the router leaves Consul), keep accepting this long so balancers and edges stop sending before the listeners close' }),
  timeoutMs: Type.Integer({ minimum: 1, default: 15_000, description: 'once the listeners close, in-flight requests get this long; then their connections are cut and the process exits 1' }),
}, { additionalProperties: false, default: {} });

export type ShutdownConfig = Static<typeof ShutdownSchema>;
