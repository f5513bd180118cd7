// Writes HTTP/2 frames by hand over TLS (ALPN h2), for shapes node:http2's
// client never sends: a RST_STREAM before END_STREAM (its close() ends the
// stream first), DATA beyond the declared content-length. Headers go as HPACK
// literals without indexing, so no encoder state is needed; what comes back is
// read as frames (type, flags, stream, payload), never decoded. Also one
// decoded request whose header list node's client refuses by default.
import { connect, type TLSSocket } from 'node:tls';
import { connect as http2Connect, type SecureClientSessionOptions } from 'node:http2';
import { readFileSync } from 'node:fs';
import { certificates } from './gateway.js';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

export interface RawH2 {
  /** Every frame the server sent so far, in order. */
  readonly frames: Frame[];
  readonly socket: TLSSocket;
  headers(stream: number, fields: Readonly<Record<string, string>>, endStream: boolean): void;
  data(stream: number, payload: string | Buffer, endStream: boolean): void;
  rstStream(stream: number, code: number): void;
  /** The error code of the server's GOAWAY, once one came. */
  goaway(): number | undefined;
  close(): void;
}

/** A TLS connection that has sent the client preface and empty SETTINGS, and acknowledges the server's. */
export async function rawH2(url: string): Promise<RawH2> {
  const u = new URL(url);
  const ca = readFileSync((await certificates).caFile);
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost', ALPNProtocols: ['h2'] }, () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => undefined); // the server may reset the connection; tests look at the frames
  const frames: Frame[] = [];
  let pending = Buffer.alloc(0);
  const send = (type: number, flags: number, stream: number, payload: Buffer): void => {
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head[3] = type;
    head[4] = flags;
    head.writeUInt32BE(stream, 5);
    if (!socket.destroyed) socket.write(Buffer.concat([head, payload]));
  };
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      const frame = { type: pending[3]!, flags: pending[4]!, stream: pending.readUInt32BE(5) & 0x7fffffff, payload: pending.subarray(9, 9 + length) };
      pending = pending.subarray(9 + length);
      frames.push(frame);
      if (frame.type === FRAME.SETTINGS && (frame.flags & ACK) === 0) send(FRAME.SETTINGS, ACK, 0, Buffer.alloc(0));
    }
  });
  socket.write(PREFACE);
  send(FRAME.SETTINGS, 0, 0, Buffer.alloc(0));
  return {
    frames,
    socket,
    headers: (stream, fields, endStream) => send(FRAME.HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, hpackLiterals(fields)),
    data: (stream, payload, endStream) => send(FRAME.DATA, endStream ? END_STREAM : 0, stream, Buffer.from(payload)),
    rstStream: (stream, code) => {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(code);
      send(FRAME.RST_STREAM, 0, stream, payload);
    },
    goaway: () => {
      const g = frames.find((f) => f.type === FRAME.GOAWAY);
      return g === undefined ? undefined : g.payload.readUInt32BE(4);
    },
    close: () => socket.destroy(),
  };
}

/** Each field as "literal header field without indexing, new name" (RFC 7541 6.2.2), no Huffman coding. */
function hpackLiterals(fields: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) parts.push(Buffer.from([0x00]), hpackString(name), hpackString(value));
  return Buffer.concat(parts);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** An integer with an N-bit prefix (RFC 7541 5.1), the prefix's other bits zero. */
function hpackInteger(value: number, prefixBits: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([value]);
  const out = [max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

export interface H2Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * One HTTP/2 request with a header list node's client refuses by default (a repeated single-value field such as
 * two `authorization` lines, which a peer can send and node's server receives): node:http2 with strictSingleValueFields off,
 * decoding the reply, which the frame writer above does not.
 */
export async function h2WithRawHeaders(url: string, rawHeaders: readonly string[]): Promise<H2Reply> {
  const u = new URL(url);
  const ca = readFileSync((await certificates).caFile);
  // @types/node declares strictSingleValueFields for servers only; node's client honours it too.
  const session = http2Connect(u.origin, { ca, servername: 'localhost', strictSingleValueFields: false } as SecureClientSessionOptions);
  try {
    return await new Promise<H2Reply>((resolve, reject) => {
      session.once('error', reject);
      const stream = session.request([':method', 'GET', ':path', `${u.pathname}${u.search}`, ...rawHeaders]);
      const chunks: Buffer[] = [];
      let head: Record<string, string | string[] | undefined> = {};
      stream.on('response', (h) => { head = h as typeof head; });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks).toString() }));
      stream.on('error', reject);
      stream.end();
    });
  } finally {
    session.close();
  }
}
