// Sends exact bytes over TLS or TCP and returns what came back, for tests
// whose input an HTTP client library would refuse or rewrite (hop-by-hop
// headers, encoded dot segments, conflicting Host).
import { connect as tlsConnect } from 'node:tls';
import { connect as tcpConnect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { certificates } from './gateway.js';

export interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly raw: string;
}

export async function rawRequest(url: string, bytes: string, timeoutMs = 5_000): Promise<RawReply> {
  const u = new URL(url);
  const port = Number(u.port);
  const ca = readFileSync((await certificates).caFile);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket: Socket = u.protocol === 'https:'
      ? tlsConnect({ host: u.hostname, port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => socket.write(bytes))
      : tcpConnect({ host: u.hostname, port }, () => socket.write(bytes));
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
