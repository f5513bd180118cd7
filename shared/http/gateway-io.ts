// The request and reply every stage of a tier's pipeline sees. Hand-written
// rather than fastify's: the proxy path is the per-request hot path of both
// tiers, and fastify's request/reply objects, hook runners and serializers
// cost about 40% more CPU per proxied request than node:http alone (bench/).
// The shapes are the subset of fastify's that stages use.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { constants as http2, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';

export type RawRequest = IncomingMessage | Http2ServerRequest;
export type RawResponse = ServerResponse | Http2ServerResponse;
type HeaderValue = string | number | string[];

export interface GatewayRequest {
  /** The request id: a trusted peer's X-Request-Id or a new UUID. */
  readonly id: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: RawRequest;
}

export interface GatewayReply {
  readonly sent: boolean;
  /** The response underneath (fastify's reply has it too): the upstream stage watches it for a client that leaves. */
  readonly raw: RawResponse;
  code(status: number): GatewayReply;
  header(name: string, value: HeaderValue): GatewayReply;
  headers(values: Readonly<Record<string, HeaderValue | undefined>>): GatewayReply;
  getHeader(name: string): unknown;
  removeHeader(name: string): GatewayReply;
  send(body?: string | Buffer | PipedBody): GatewayReply;
}

/** A body that writes itself into the response (an upstream call streaming its response). */
export interface PipedBody {
  pipeTo(raw: RawResponse): void;
}

export class ProxyRequest implements GatewayRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;

  constructor(readonly id: string, readonly raw: RawRequest) {
    this.method = raw.method ?? 'GET';
    this.url = raw.url ?? '';
    this.headers = raw.headers;
  }
}

/** Headers the tier adds to every reply just before it goes out (HSTS; Connection: close while draining). */
export type FinalHeaders = (raw: RawResponse) => void;

export class ProxyReply implements GatewayReply {
  sent = false;
  private status = 200;

  constructor(readonly raw: RawResponse, private readonly finalHeaders: FinalHeaders) {}

  code(status: number): this {
    this.status = status;
    return this;
  }

  header(name: string, value: HeaderValue): this {
    this.raw.setHeader(name, value as string);
    return this;
  }

  headers(values: Readonly<Record<string, HeaderValue | undefined>>): this {
    for (const name in values) {
      const value = values[name];
      if (value !== undefined) this.raw.setHeader(name, value as string);
    }
    return this;
  }

  getHeader(name: string): unknown {
    return this.raw.getHeader(name);
  }

  removeHeader(name: string): this {
    this.raw.removeHeader(name);
    return this;
  }

  send(body?: string | Buffer | PipedBody): this {
    this.sent = true;
    const raw = this.raw;
    raw.statusCode = this.status;
    this.finalHeaders(raw);
    if (body === undefined) {
      raw.end();
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      if (!raw.hasHeader('content-length')) raw.setHeader('content-length', Buffer.byteLength(body));
      raw.end(body);
    } else {
      body.pipeTo(raw);
    }
    return this;
  }
}

/**
 * Cuts a response whose body cannot be finished, so it never looks complete: HTTP/1.1 loses its
 * connection; an HTTP/2 stream is reset with INTERNAL_ERROR (destroy() alone resets it with NO_ERROR).
 */
export function cutResponse(raw: RawResponse): void {
  if ('stream' in raw) raw.stream.close(http2.NGHTTP2_INTERNAL_ERROR);
  else raw.destroy();
}
