// W3C Trace Context (traceparent/tracestate): continue a valid incoming trace
// or start one, and mint the span id this hop sends onward. Never trusts a
// malformed header: an invalid traceparent starts a new trace and drops tracestate.
import { randomHex } from './ids.js';

export interface TraceContext {
  readonly traceId: string;
  /** The span of this hop: the parent of what this hop sends onward. */
  readonly spanId: string;
  /** The caller's span, when the trace was continued. */
  readonly parentSpanId: string | undefined;
  readonly flags: string;
  readonly tracestate: string | undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
// The spec bounds what a hop must propagate; anything larger is dropped, not truncated mid-member.
const TRACESTATE_MAX_CHARS = 512;
const TRACESTATE_MAX_MEMBERS = 32;

export function continueTrace(traceparent: string | undefined, tracestate: string | undefined): TraceContext {
  const spanId = randomHex(8);
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (m && m[1] !== 'ff' && m[2] !== ZERO_TRACE && m[3] !== ZERO_SPAN && (m[1] !== '00' || m[5] === undefined)) {
    return { traceId: m[2]!, spanId, parentSpanId: m[3], flags: m[4]!, tracestate: cleanTracestate(tracestate) };
  }
  return { traceId: randomHex(16), spanId, parentSpanId: undefined, flags: '01', tracestate: undefined };
}

export function traceparentOf(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

function cleanTracestate(value: string | undefined): string | undefined {
  if (!value || value.length > TRACESTATE_MAX_CHARS) return undefined;
  let members = 1;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) === 44 /* , */) members++;
  return members <= TRACESTATE_MAX_MEMBERS ? value : undefined;
}
