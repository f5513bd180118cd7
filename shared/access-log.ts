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
import { LineBuffer } from './log-buffer.js';

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

/** Where a line is written: straight into the stdout buffer, or into a string for any other destination. */
interface LineOut {
  /** Printable ASCII only. */
  ascii(text: string): void;
  utf8(text: string): void;
}

class StringLine implements LineOut {
  text = '';
  ascii(text: string): void { this.text += text; }
  utf8(text: string): void { this.text += text; }
}

/** Bytes a JSON-escaped value can take at most: \u00XX is six per UTF-16 unit. */
const ESCAPED_PER_UNIT = 6;
/** The line's fixed text: names, punctuation, time, numbers. */
const FIXED_BYTES = 640;

/**
 * status: the one sent to the client, 0 when none was (the field is left out); bytesOut: body bytes
 * written. upgrade: set for a WebSocket handshake, whose reply is a tunnel rather than a response.
 */
export function logAccess(log: Logger, ex: Exchange, req: RawRequest, status: number, bytesOut: number, outcome: Outcome, upgrade?: 'websocket'): void {
  if (log.levelVal > INFO) return;
  const internals = log as PinoInternals;
  const bindings = internals[chindingsSym] as string;
  const dest = internals[streamSym] as DestinationStream;
  const v: LineValues = {
    method: req.method ?? '',
    path: ex.path || withoutQuery(req.url ?? '').slice(0, 256),
    client: ex.forwarded?.clientIp ?? peerAddress(req.socket),
    auth: ex.authDetail === undefined ? undefined : JSON.stringify(ex.authDetail),
  };
  if (dest instanceof LineBuffer && dest.room(FIXED_BYTES + bindings.length + ESCAPED_PER_UNIT * variableLength(ex, v))) {
    writeLine(dest, bindings, ex, v, status, bytesOut, outcome, upgrade);
    dest.lineDone();
    return;
  }
  const line = new StringLine();
  writeLine(line, bindings, ex, v, status, bytesOut, outcome, upgrade);
  dest.write(line.text);
}

/** The values of a line read from the request, computed once for the size estimate and the line. */
interface LineValues {
  readonly method: string;
  readonly path: string;
  readonly client: string;
  readonly auth: string | undefined;
}

function variableLength(ex: Exchange, v: LineValues): number {
  const identity = ex.identity;
  return ex.requestId.length + v.method.length + v.path.length + v.client.length + (v.auth?.length ?? 0)
    + (ex.route?.name.length ?? 0) + (ex.service?.length ?? 0) + (ex.upstream?.length ?? 0)
    + (identity === undefined ? 0 : identity.consumer.length + identity.method.length)
    + ((ex.abortReason ?? ex.reason)?.length ?? 0);
}

function writeLine(out: LineOut, bindings: string, ex: Exchange, v: LineValues, status: number, bytesOut: number, outcome: Outcome, upgrade: 'websocket' | undefined): void {
  const trace = ex.trace;
  const identity = ex.identity;
  out.ascii('{"level":"info","time":"');
  writeIso(out, Date.now());
  out.ascii('"');
  out.utf8(bindings);
  out.ascii(',"event":"access"');
  if (upgrade !== undefined) { out.ascii(',"upgrade":"'); out.ascii(upgrade); out.ascii('"'); }
  field(out, 'requestId', ex.requestId);
  if (trace !== undefined) {
    out.ascii(',"traceId":"'); out.ascii(trace.traceId); out.ascii('","spanId":"'); out.ascii(trace.spanId); out.ascii('"');
    if (trace.parentSpanId !== undefined) { out.ascii(',"parentSpanId":"'); out.ascii(trace.parentSpanId); out.ascii('"'); }
  }
  field(out, 'method', v.method);
  field(out, 'path', v.path);
  field(out, 'route', ex.route?.name);
  field(out, 'service', ex.service);
  field(out, 'upstream', ex.upstream);
  if (status !== 0) { out.ascii(',"status":'); out.ascii(String(status)); }
  out.ascii(',"outcome":"'); out.ascii(outcome);
  out.ascii('","bytesOut":'); out.ascii(String(bytesOut));
  out.ascii(',"durationMs":'); out.ascii(String(Math.round((performance.now() - ex.startedAt) * 100) / 100));
  field(out, 'client', v.client);
  if (identity !== undefined) { field(out, 'consumer', identity.consumer); field(out, 'authMethod', identity.method); }
  if (v.auth !== undefined) { out.ascii(',"auth":'); out.utf8(v.auth); }
  if (ex.retries > 0) { out.ascii(',"retries":'); out.ascii(String(ex.retries)); }
  field(out, 'reason', ex.abortReason ?? ex.reason);
  out.ascii('}\n');
}

/** ,"name":"value" when there is a value; the name is one of ours (ASCII). */
function field(out: LineOut, name: string, value: string | undefined): void {
  if (value === undefined) return;
  out.ascii(',"'); out.ascii(name); out.ascii('":');
  quoted(out, value);
}

/** A JSON string literal; JSON.stringify only for the rare value that needs escaping (it was a third of the line's cost). */
function quoted(out: LineOut, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
      out.utf8(JSON.stringify(value));
      return;
    }
  }
  out.ascii('"'); out.ascii(value); out.ascii('"');
}

// Date#toISOString measured about 1 us a call here; the minute's prefix is
// formatted once and the seconds and milliseconds appended.
let minuteStart = -1;
let minutePrefix = '';
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** now's milliseconds into its minute, the minute's prefix (2026-12-02T20:48:) made current. */
function intoMinute(now: number): number {
  if (now < minuteStart || now - minuteStart >= 60_000) {
    minuteStart = now - (now % 60_000);
    minutePrefix = new Date(minuteStart).toISOString().slice(0, 17);
  }
  return now - minuteStart;
}

/** The same text as new Date(now).toISOString() (pino's isoTime). */
export function isoNow(now: number): string {
  const line = new StringLine();
  writeIso(line, now);
  return line.text;
}

function writeIso(out: LineOut, now: number): void {
  const ms = intoMinute(now);
  out.ascii(minutePrefix);
  out.ascii(TWO_DIGITS[(ms / 1000) | 0]!);
  out.ascii('.');
  out.ascii(THREE_DIGITS[ms % 1000]!);
  out.ascii('Z');
}
