// A small OTLP/HTTP trace receiver, as a collector would stand: accepts
// POST /v1/traces with the JSON encoding and keeps every span it was sent,
// flattened (ids in hex, attributes as plain values, the service's name).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  readonly service: string;
  readonly name: string;
  /** OTLP's SpanKind: 2 server, 3 client. */
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** OTLP's status code: 0 unset, 2 error. */
  readonly statusCode: number;
}

export interface OtlpReceiver {
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Export requests received, whatever they held. */
  posts: number;
  close(): Promise<void>;
}

interface AnyValue { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number }
interface KeyValue { key: string; value: AnyValue }
interface OtlpSpan { name: string; kind: number; traceId: string; spanId: string; parentSpanId?: string; attributes?: KeyValue[]; status?: { code?: number } }
interface ExportRequest { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] }

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      receiver.posts++;
      receiver.spans.push(...flatten(JSON.parse(Buffer.concat(chunks).toString()) as ExportRequest));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const receiver: OtlpReceiver = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans: [],
    posts: 0,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  return receiver;
}

function flatten(body: ExportRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(plain(rs.resource?.attributes ?? [])['service.name']);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          service, name: s.name, kind: s.kind, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '',
          attributes: plain(s.attributes ?? []), statusCode: s.status?.code ?? 0,
        });
      }
    }
  }
  return spans;
}

function plain(attributes: KeyValue[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes) {
    out[key] = value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue);
  }
  return out;
}
