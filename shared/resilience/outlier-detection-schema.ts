// Config of a service's passive health checking: how many failures in a row eject an instance, for how
// long, and the share that may be ejected. Schema only: the detector is shared/resilience/outlier-detection.ts's.
import { Type, type Static } from '@sinclair/typebox';
import { policy } from '../config/policy-schema.js';

export const OutlierSchema = Type.Object({
  consecutiveFailures: Type.Integer({ minimum: 1, default: 5, description: 'failures in a row that eject an instance' }),
  baseEjectionMs: Type.Integer({ minimum: 1, default: 5_000, description: 'first ejection; each repeat doubles it' }),
  maxEjectionMs: Type.Integer({ minimum: 1, default: 300_000, description: 'cap of the back-off; also how long an instance must stay healthy for it to reset' }),
  maxEjectedPercent: Type.Integer({ minimum: 0, maximum: 100, default: 50, description: 'above this share ejected, all instances are tried (panic mode)' }),
}, { additionalProperties: false, default: {}, description: 'passive health checking: an instance whose attempts keep failing is ejected for a while' });

export type OutlierConfig = Static<typeof OutlierSchema>;

/** A service's outlier-detection settings, listed in shared/config/service-policies-schema.ts. */
export const outlierDetectionPolicy = policy<undefined>()({ name: 'outlier-detection', key: 'outlierDetection', schema: OutlierSchema });
