// The headers only the gateway writes: its identity namespace and the forwarding headers it sets on every
// hop. Constants only, so the edge's strip-list schema can name them without loading the header code.
/** The identity namespace: only the gateway writes these, every hop drops what it received. */
export const IDENTITY_PREFIX = 'x-gatehouse-';

/** Set by the gateway on every hop; a client's copy is never passed on as-is. */
export const GATEWAY_OWNED: ReadonlySet<string> = new Set([
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix',
  'forwarded', 'x-real-ip', 'x-request-id', 'traceparent', 'tracestate',
]);
