// The one access-log line per request, the same shape on both tiers and for
// every kind of reply (proxied, refused or answered by a stage, or a tunnel),
// written once, when the exchange really ended: its response's 'close', which
// comes once whether the last byte went out or the stream or connection was
// cut first. It must never say more than happened: the status only if one was
// sent, the body bytes actually written, and who broke the exchange off.
//
// Serialized by hand into pino's own destination instead of log.info(object):
// this runs once per request on both tiers, and pino's generic path (walking
// the object, its stringifiers, an ISO timestamp formatted from scratch) cost
// 20-30 CPU-us per line in a profile under load, a tenth of a tier's whole
// budget. The line is byte-for-byte what pino writes (level label, ISO time,
// the logger's bindings, then the fields, undefined ones left out). Every
// field is made by the gateway and none carries a credential, so pino's
// redaction has nothing to do here; the query string is never logged.
import pino, { type Logger, type DestinationStream } from 'pino';
import type { AbortOutcome, Exchange } from './exchange.js';
import { peerAddress } from './http/peer-address.js';
import type { RawRequest, RawResponse } from './http/gateway-io.js';
import { withoutQuery } from './routing/path.js';
import type { RequestMetrics } from './metrics/requests.js';

const INFO = 30;
const { chindingsSym, streamSym } = pino.symbols;
type PinoInternals = Logger & { [key: symbol]: unknown };

/** 'completed': the whole response went out, whatever its status; otherwise who broke the exchange off. */
export type Outcome = 'completed' | AbortOutcome;

/** Told, after the access line, what the line said: trace export's end of the exchange (undefined when off). */
export type ExchangeEnded = (ex: Exchange, req: RawRequest, status: number, outcome: Outcome) => void;

const EXCHANGE = Symbol('gatehouse.exchange');
type TrackedResponse = RawResponse & { [EXCHANGE]?: Exchange };

/**
 * Ties an exchange to its response: its line is written when the response closes, even while a stage
 * still awaits (a client gone mid-pipeline), and never twice ('close' comes once; 'finish' alone would
 * miss every abort). One prebuilt listener per tier, no closure per request.
 */
export function accessLineAtClose(log: Logger, metrics?: RequestMetrics, ended?: ExchangeEnded): (res: RawResponse, ex: Exchange) => void {
  function onClose(this: TrackedResponse): void {
    const ex = this[EXCHANGE]!;
    // Both: an HTTP/2 stream cut by its client reads as writableFinished without end() ever called.
    if (ex.aborted === undefined && this.writableEnded && this.writableFinished) {
      metrics?.record(ex.route?.name, this.req.method, this.statusCode, (performance.now() - ex.startedAt) / 1000, ex.authFailure ?? ex.errorCode);
      logAccess(log, ex, this.req, this.statusCode, ex.bytesOut || Number(this.getHeader('content-length') ?? 0), 'completed');
      ended?.(ex, this.req, this.statusCode, 'completed');
      return;
    }
    if (ex.aborted === undefined) ex.breakOff('client-aborted', clientLeft(this));
    // statusCode is 200 from the start: it says what was sent only once the head went out.
    const status = ex.rawStatus || (this.headersSent ? this.statusCode : 0);
    metrics?.record(ex.route?.name, this.req.method, status, (performance.now() - ex.startedAt) / 1000, ex.authFailure ?? ex.errorCode);
    logAccess(log, ex, this.req, status, ex.bytesOut, ex.aborted!);
    ended?.(ex, this.req, status, ex.aborted!);
  }
  return (res, ex) => {
    (res as TrackedResponse)[EXCHANGE] = ex;
    res.on('close', onClose);
  };
}

/** The exchange of a response in flight, for what ends it outside the pipeline (a parser error, a slow client). */
export function exchangeOfResponse(res: unknown): Exchange | undefined {
  return (res as TrackedResponse | undefined)?.[EXCHANGE];
}

// Node reports a dropped HTTP/2 connection as CANCEL on each of its streams, like a client's own RST_STREAM.
const RST_STREAM_CODES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED',
  'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];
const STREAM_RESETS = RST_STREAM_CODES.map((name) => (name === 'CANCEL' || name === 'NO_ERROR'
  ? `client closed the stream (RST_STREAM ${name})` : `stream reset (RST_STREAM ${name})`));

/** Why a response closed unfinished when nothing in the gateway said why: the client's side went. */
function clientLeft(res: RawResponse): string {
  if ('stream' in res) {
    const code = res.stream.rstCode ?? 0;
    return STREAM_RESETS[code] ?? `stream reset (RST_STREAM ${code})`;
  }
  return res.req.complete ? 'client closed the connection' : 'request body ended early (connection closed)';
}

/**
 * status: the one sent to the client, 0 when none was (the field is left out); bytesOut: body bytes
 * written. upgrade: set for a WebSocket handshake, whose reply is a tunnel rather than a response.
 */
export function logAccess(log: Logger, ex: Exchange, req: RawRequest, status: number, bytesOut: number, outcome: Outcome, upgrade?: 'websocket'): void {
  if (log.levelVal > INFO) return;
  const internals = log as PinoInternals;
  const trace = ex.trace;
  const identity = ex.identity;
  let line = `{"level":"info","time":"${isoNow(Date.now())}"${internals[chindingsSym] as string},"event":"access"`;
  if (upgrade !== undefined) line += `,"upgrade":"${upgrade}"`;
  line += `,"requestId":${quote(ex.requestId)}`;
  if (trace !== undefined) {
    line += `,"traceId":"${trace.traceId}","spanId":"${trace.spanId}"`;
    if (trace.parentSpanId !== undefined) line += `,"parentSpanId":"${trace.parentSpanId}"`;
  }
  line += `,"method":${quote(req.method ?? '')},"path":${quote(ex.path || withoutQuery(req.url ?? '').slice(0, 256))}`;
  line += field('route', ex.route?.name) + field('service', ex.service) + field('upstream', ex.upstream);
  if (status !== 0) line += `,"status":${status}`;
  line += `,"outcome":"${outcome}","bytesOut":${bytesOut},"durationMs":${Math.round((performance.now() - ex.startedAt) * 100) / 100}`;
  line += `,"client":${quote(ex.forwarded?.clientIp ?? peerAddress(req.socket))}`;
  if (identity !== undefined) line += field('consumer', identity.consumer) + field('authMethod', identity.method);
  if (ex.authDetail !== undefined) line += `,"auth":${JSON.stringify(ex.authDetail)}`;
  if (ex.retries > 0) line += `,"retries":${ex.retries}`;
  line += `${field('reason', ex.abortReason ?? ex.reason)}}\n`;
  (internals[streamSym] as DestinationStream).write(line);
}

function field(name: string, value: string | undefined): string {
  return value === undefined ? '' : `,"${name}":${quote(value)}`;
}

/** A JSON string literal; JSON.stringify only for the rare value that needs escaping (it was a third of the line's cost). */
function quote(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(value);
  }
  return `"${value}"`;
}

// Date#toISOString measured about 1 us a call here; the minute's prefix is
// formatted once and the seconds and milliseconds appended.
let minuteStart = -1;
let minutePrefix = '';

/** The same text as new Date(now).toISOString() (pino's isoTime). */
export function isoNow(now: number): string {
  if (now < minuteStart || now - minuteStart >= 60_000) {
    minuteStart = now - (now % 60_000);
    minutePrefix = new Date(minuteStart).toISOString().slice(0, 17); // 2026-12-02T20:48:
  }
  const ms = now - minuteStart;
  const seconds = (ms / 1000) | 0;
  const millis = ms % 1000;
  return `${minutePrefix}${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
