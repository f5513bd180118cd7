// The config of trace export (shared/telemetry/tracing.ts): absent, a tier builds
// no tracer and its request path is what it was without this feature.
// Schema only, like every file it imports (.dependency-cruiser.cjs).
import { Type, type Static } from '@sinclair/typebox';

const Strict = { additionalProperties: false } as const;

export const OtlpSchema = Type.Object({
  endpoint: Type.String({ pattern: '^https?://[^\\s]+$', description: 'the collector\'s OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces (spans are posted as JSON)' }),
  headers: Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String(), { default: {}, description: 'headers sent with every export (a collector\'s API key); never logged' }),
  timeoutMs: Type.Integer({ minimum: 1, default: 10_000, description: 'one export may take this long; then its spans are dropped' }),
  serviceName: Type.Optional(Type.String({ minLength: 1, description: 'the service.name resource attribute (default gatehouse-edge or gatehouse-router)' })),
  sampleRatio: Type.Number({ minimum: 0, maximum: 1, default: 1, description: 'the share of traces exported, decided from the trace id, so edge and router keep the same traces' }),
  maxQueueSize: Type.Integer({ minimum: 1, default: 2048, description: 'spans waiting for export beyond this are dropped, never waited for' }),
}, { ...Strict, description: 'export spans over OTLP/HTTP (JSON)' });

export const TelemetrySchema = Type.Object({
  otlp: Type.Optional(OtlpSchema),
}, { ...Strict, description: 'trace export (docs/operations.md, "Trace export"); off when absent. Read at start: a change needs a restart' });

export type TelemetryConfig = Static<typeof TelemetrySchema>;
export type OtlpConfig = Static<typeof OtlpSchema>;
