// Trace export (opt-in, telemetry.otlp): when an exchange ends, its tier's server
// span and one client span per upstream attempt go to an OTLP/HTTP collector.
// Spans carry the ids the access line and traceparent already carry (never ids the
// SDK invents for them), and a collector's trouble never reaches a request.
import type { Logger } from 'pino';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { BatchSpanProcessor, TracerProvider, TraceIdRatioBasedSampler, type IdGenerator, type SpanExporter } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Exchange } from '../exchange.js';
import type { Outcome } from '../access-log.js';
import type { RawRequest } from '../http/gateway-io.js';
import type { TraceContext } from '../trace.js';
import { randomHex } from '../ids.js';
import type { OtlpConfig } from './telemetry-schema.js';

export type Tier = 'edge' | 'router';

/** A tier's exporter: built only when telemetry.otlp is configured. */
export class Tracing {
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;
  private readonly ids = new ExchangeIds();

  constructor(config: OtlpConfig, tier: Tier, private readonly log: Logger) {
    const safeEndpoint = withoutUserinfo(config.endpoint);
    const exporter = new OTLPTraceExporter({ url: config.endpoint, headers: { ...config.headers }, timeoutMillis: config.timeoutMs });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.serviceName ?? `gatehouse-${tier}`, 'gatehouse.tier': tier }),
      // Decided from the trace id alone, so the edge and the router keep or drop the same traces.
      sampler: new TraceIdRatioBasedSampler(config.sampleRatio),
      idGenerator: this.ids,
      spanProcessors: [new BatchSpanProcessor({
        exporter: new OutageReporting(exporter, safeEndpoint, log),
        maxQueueSize: config.maxQueueSize,
        exportTimeoutMillis: config.timeoutMs,
      })],
    });
    this.tracer = this.provider.getTracer('gatehouse');
    log.info({ event: 'trace-export', endpoint: safeEndpoint, sampleRatio: config.sampleRatio }, 'exporting spans over OTLP/HTTP');
  }

  /** At the exchange's start: its upstream stage then notes each attempt. */
  begin(ex: Exchange): void {
    ex.attempts = [];
  }

  /** At the exchange's end (its access line): its spans, timed from what the exchange noted. */
  end(ex: Exchange, req: RawRequest, status: number, outcome: Outcome): void {
    // This runs in a response's 'close' listener: a throw would be an uncaught exception, the whole process.
    try {
      this.export(ex, req, status, outcome);
    } catch (err) {
      this.log.error({ err, requestId: ex.requestId }, 'trace export failed to record a request');
    }
  }

  private export(ex: Exchange, req: RawRequest, status: number, outcome: Outcome): void {
    const tc = ex.trace;
    if (tc === undefined) return; // refused before the trace was read: no id to give a span
    const now = performance.now();
    const method = req.method ?? '';
    const attributes: Attributes = {
      'http.request.method': method,
      'gatehouse.request_id': ex.requestId,
      'gatehouse.outcome': outcome,
    };
    if (ex.route !== undefined) attributes['gatehouse.route'] = ex.route.name;
    if (status !== 0) attributes['http.response.status_code'] = status;
    if (ex.identity !== undefined) attributes['gatehouse.consumer'] = ex.identity.consumer;
    if (ex.retries > 0) attributes['gatehouse.retries'] = ex.retries;
    const failed = outcome !== 'completed' || status >= 500;
    const server = this.startWithIds(`${method} ${ex.route?.name ?? 'unmatched'}`, SpanKind.SERVER, attributes, ex.startedAt, tc, remoteParent(tc));
    if (failed) server.setStatus({ code: SpanStatusCode.ERROR, message: ex.abortReason ?? ex.reason ?? `status ${status}` });
    const parent = trace.setSpan(ROOT_CONTEXT, server);
    for (const a of ex.attempts ?? []) {
      const attempt = this.tracer.startSpan(`${method} ${a.service}`, {
        kind: SpanKind.CLIENT,
        startTime: epochMs(a.startedAt),
        attributes: { 'gatehouse.service': a.service, 'gatehouse.instance': a.instance, 'http.request.method': method, ...(a.status !== 0 && { 'http.response.status_code': a.status }) },
      }, parent);
      if (a.error !== undefined || a.status >= 500) attempt.setStatus({ code: SpanStatusCode.ERROR, message: a.error ?? `status ${a.status}` });
      attempt.end(epochMs(a.endedAt || now));
    }
    server.end(epochMs(now));
  }

  /**
   * Sends what is queued and stops; the tier's closeClients awaits it, at most about timeoutMs. A failed last
   * export rejects the SDK's shutdown: it was reported already, and must not fail the tier's close.
   */
  close(): Promise<void> {
    return this.provider.shutdown().catch(() => undefined);
  }

  /** A span whose trace and span ids are the exchange's own (the SDK asks its IdGenerator while starting it). */
  private startWithIds(name: string, kind: SpanKind, attributes: Attributes, startedAt: number, tc: TraceContext, parent: Context): Span {
    this.ids.next = tc;
    try {
      return this.tracer.startSpan(name, { kind, attributes, startTime: epochMs(startedAt) }, parent);
    } finally {
      this.ids.next = undefined;
    }
  }
}

/** The caller's span as this tier's parent, when the trace was continued; otherwise a root. */
function remoteParent(tc: TraceContext): Context {
  if (tc.parentSpanId === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: tc.traceId, spanId: tc.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

/** The endpoint as logged: a password in its URL stays out of the logs. */
function withoutUserinfo(endpoint: string): string {
  const url = new URL(endpoint);
  return `${url.origin}${url.pathname}`;
}

/** performance.now() as epoch milliseconds, the time the exchange and its attempts noted. */
function epochMs(t: number): number {
  return performance.timeOrigin + t;
}

/** Hands the SDK the exchange's ids while a server span starts, random ids (attempts' spans) otherwise. */
class ExchangeIds implements IdGenerator {
  next: TraceContext | undefined = undefined;
  generateTraceId(): string {
    return this.next?.traceId ?? randomHex(16);
  }
  generateSpanId(): string {
    return this.next?.spanId ?? randomHex(8);
  }
}

type ExportDone = Parameters<SpanExporter['export']>[1];

/**
 * Says once that exports fail and once that they work again, rather than a line per batch: the spans of a
 * failed batch are dropped (the exporter's own bounded retries aside), requests never wait on them.
 */
class OutageReporting implements SpanExporter {
  private failing = false;

  constructor(private readonly inner: SpanExporter, private readonly endpoint: string, private readonly log: Logger) {}

  export(spans: Parameters<SpanExporter['export']>[0], done: ExportDone): void {
    this.inner.export(spans, (result) => {
      // ExportResultCode.SUCCESS is 0 (@opentelemetry/core, not a dependency of ours).
      if (result.code !== 0 && !this.failing) {
        this.failing = true;
        this.log.warn({ event: 'trace-export-failed', endpoint: this.endpoint, dropped: spans.length, reason: result.error?.message }, 'trace export failed; spans are dropped until the collector answers');
      } else if (result.code === 0 && this.failing) {
        this.failing = false;
        this.log.info({ event: 'trace-export-recovered', endpoint: this.endpoint }, 'trace export works again');
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
