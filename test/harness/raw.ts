// Sends exact bytes over TLS or TCP and returns what came back, for tests
// whose input an HTTP client library would refuse or rewrite (hop-by-hop
// headers, encoded dot segments, conflicting Host).
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { certificates } from './gateway.js';

export interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly raw: string;
}

/** localAddress: another loopback address (127.0.0.2...) to appear as another client. */
export async function rawRequest(url: string, bytes: string, timeoutMs = 5_000, localAddress?: string): Promise<RawReply> {
  const u = new URL(url);
  const port = Number(u.port);
  const ca = readFileSync((await certificates).caFile);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket: Socket = u.protocol === 'https:'
      ? tlsConnect({ host: u.hostname, port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'], ...bind(localAddress) }, () => socket.write(bytes))
      : tcpConnect({ host: u.hostname, port, localAddress }, () => socket.write(bytes));
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no reply within ${timeoutMs} ms`)); }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(replyFrom(Buffer.concat(chunks).toString()));
    });
  });
}

/** An HTTP/1.1 response as received, split into status, headers (lower-case names) and body. */
export function replyFrom(raw: string): RawReply {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: rest.join('\r\n\r\n'), raw };
}

/** A minimal HTTP/1.1 request; extra header lines are sent exactly as given. */
export function http1(method: string, target: string, headerLines: readonly string[], host = 'localhost'): string {
  return `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n${headerLines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`;
}

/** A TLS connection (HTTP/1.1 by ALPN) whose handshake completed; rejects if the server closed it first. */
export async function openTls(url: string, localAddress?: string): Promise<TLSSocket> {
  const u = new URL(url);
  const ca = readFileSync((await certificates).caFile);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost', ALPNProtocols: ['http/1.1'], ...bind(localAddress) }, () => resolve(s));
    s.once('error', reject);
  });
}

/** The bytes of a real ClientHello (SNI localhost), as Node's TLS client first sends them. */
export function clientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    // The hello is written while tls.connect runs, before it has returned the socket to destroy.
    const wire = new Duplex({ read() {}, write(chunk: Buffer, _enc, done) { resolve(Buffer.from(chunk)); done(); setImmediate(() => client.destroy()); } });
    const client = tlsConnect({ socket: wire, servername: 'localhost' }).on('error', () => undefined);
  });
}

/** tls.connect hands localAddress to its TCP socket; its options type just does not list it. */
function bind(localAddress: string | undefined): object {
  return localAddress === undefined ? {} : { localAddress };
}
