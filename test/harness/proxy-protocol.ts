// A balancer's side of the PROXY protocol, for tests: headers laid out byte by
// byte as HAProxy's spec defines them (well-formed or deliberately not), and
// HTTPS requests sent behind one over a real TCP + TLS connection.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as h2Connect, constants } from 'node:http2';
import { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { certificates } from './gateway.js';
import { replyFrom, type RawReply } from './raw.js';

/** "PROXY " + line + CRLF, e.g. proxyV1('TCP4 203.0.113.7 127.0.0.1 51234 443'). */
export function proxyV1(line: string): Buffer {
  return Buffer.from(`PROXY ${line}\r\n`, 'latin1');
}

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export interface V2Fields {
  readonly command?: 'LOCAL' | 'PROXY';
  /** The version/command byte as sent, overriding command (to send a wrong version). */
  readonly versionCommand?: number;
  /** The family/protocol byte; default TCP over the source's IP version. */
  readonly familyProtocol?: number;
  readonly source?: string;
  readonly destination?: string;
  /** Type-length-value records after the addresses, which a receiver skips. */
  readonly tlvs?: readonly { type: number; value: Buffer }[];
  /** The length field as sent, overriding the true one (to claim more than is sent). */
  readonly length?: number;
}

export function proxyV2(f: V2Fields): Buffer {
  const source = f.source ?? '0.0.0.0';
  const v6 = source.includes(':');
  const addresses = Buffer.concat([addressBytes(source), addressBytes(f.destination ?? (v6 ? '::1' : '127.0.0.1')), port(51_234), port(443)]);
  const tlvs = (f.tlvs ?? []).map((t) => Buffer.concat([Buffer.from([t.type]), port(t.value.length), t.value]));
  const payload = Buffer.concat([addresses, ...tlvs]);
  const fixed = Buffer.alloc(4);
  fixed[0] = f.versionCommand ?? (f.command === 'LOCAL' ? 0x20 : 0x21);
  fixed[1] = f.familyProtocol ?? (v6 ? 0x21 : 0x11);
  fixed.writeUInt16BE(f.length ?? payload.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, payload]);
}

function port(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function dotted(ipv4: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = ipv4.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}

function addressBytes(address: string): Buffer {
  if (!address.includes(':')) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail] = address.split('::');
  // An embedded IPv4 address (::ffff:203.0.113.9) is the last two groups.
  const groups = (s: string) => (s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? dotted(g) : [parseInt(g, 16)])));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return Buffer.concat(all.map(port));
}

/**
 * The TCP side of a balancer: writes prefix (a PROXY header, or any bytes) and the TLS client's first
 * flight in one write, as HAProxy does, so the edge has to hand the bytes after the header on to TLS.
 */
class BalancerLink extends Duplex {
  constructor(private readonly tcp: Socket, private prefix: Buffer | undefined) {
    super();
    tcp.on('data', (d: Buffer) => this.push(d));
    tcp.on('end', () => this.push(null));
    tcp.on('error', (err) => this.destroy(err));
    tcp.on('close', () => this.destroy());
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const bytes = this.prefix ? Buffer.concat([this.prefix, chunk]) : chunk;
    this.prefix = undefined;
    this.tcp.write(bytes, done);
  }

  override _read(): void { /* pushed as it arrives */ }

  override _final(done: () => void): void {
    this.tcp.end();
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.tcp.destroy();
    done(err);
  }
}

export interface LinkOptions {
  /** Source address of the TCP connection (any 127.0.0.0/8 address on loopback). */
  readonly localAddress?: string;
  readonly alpn?: 'http/1.1' | 'h2';
}

/** A TLS connection to url's port whose TCP stream starts with header (none: plain TLS). */
export async function tlsBehind(url: string, header: Buffer | undefined, o: LinkOptions = {}): Promise<TLSSocket> {
  const u = new URL(url);
  const ca = readFileSync((await certificates).caFile);
  const tcp = tcpConnect({ host: u.hostname, port: Number(u.port), ...(o.localAddress && { localAddress: o.localAddress }) });
  return tlsConnect({ socket: new BalancerLink(tcp, header), ca, servername: 'localhost', ALPNProtocols: [o.alpn ?? 'http/1.1'] });
}

export type Outcome = { readonly closed: false; readonly reply: RawReply } | { readonly closed: true; readonly error: string };

/** Sends request (exact HTTP/1.1 bytes) behind header; "closed" when the edge ends the connection without an HTTP answer. */
export async function requestBehind(url: string, header: Buffer | undefined, request: string, o: LinkOptions & { timeoutMs?: number } = {}): Promise<Outcome> {
  const socket = await tlsBehind(url, header, o);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let error = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`neither a reply nor a close within ${o.timeoutMs ?? 5_000} ms`)); }, o.timeoutMs ?? 5_000);
    socket.once('secureConnect', () => socket.write(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => { error = err.message; });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString();
      resolve(raw === '' ? { closed: true, error: error || 'closed' } : { closed: false, reply: replyFrom(raw) });
    });
  });
}

/** One HTTP/2 GET behind header; the status and JSON body. */
export async function h2Behind(url: string, header: Buffer | undefined, path: string): Promise<{ status: number; body: string; requestId: string }> {
  const socket = await tlsBehind(url, header, { alpn: 'h2' });
  const session = h2Connect(url, { createConnection: () => socket });
  try {
    return await new Promise((resolve, reject) => {
      session.once('error', reject);
      const stream = session.request({ [constants.HTTP2_HEADER_PATH]: path, [constants.HTTP2_HEADER_AUTHORITY]: 'localhost' });
      let status = 0;
      let requestId = '';
      let body = '';
      stream.on('response', (h) => { status = Number(h[':status']); requestId = String(h['x-request-id']); });
      stream.on('data', (d: Buffer) => { body += d.toString(); });
      stream.on('end', () => resolve({ status, body, requestId }));
      stream.on('error', reject);
    });
  } finally {
    session.close();
  }
}
