// Caps the connections one client holds open on an edge listener, so that
// maxConnections takes many addresses to exhaust instead of one. A connection
// over the cap is closed at accept, before TLS or HTTP starts on it; it never
// costs a handshake, and refusals are logged per burst, never per connection.
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { TrustFn } from '../shared/http/forwarded.js';
import { peerAddress } from '../shared/http/peer-address.js';

interface Client {
  readonly key: string;
  open: number;
  /** Refused since the last log line. */
  refused: number;
  loggedAt: number;
}

const CLIENT = Symbol('gatehouse.client');
type CountedSocket = Socket & { [CLIENT]?: Client };

/** While one client keeps being refused, one line at most this often, with the count since the last. */
const LOG_EVERY_MS = 10_000;

/**
 * A trusted proxy is never counted: it carries many clients, and only the global limit applies to it.
 * The map holds only clients with a connection open, so its size is bounded by maxConnections.
 */
export function limitConnectionsPerClient(server: Server, max: number, trust: TrustFn, log: Logger, listener: 'https' | 'redirect'): void {
  const clients = new Map<string, Client>();
  function release(this: CountedSocket): void {
    const client = this[CLIENT]!;
    if (--client.open === 0) clients.delete(client.key);
  }
  // The server's own 'connection' listeners (tls.Server's starts the handshake, http.Server's the
  // parser) are all registered when it is built; they run only for a connection admitted here.
  const handOn = server.listeners('connection') as ((socket: Socket) => void)[];
  const admit = (socket: Socket) => { for (const l of handOn) l.call(server, socket); };
  server.removeAllListeners('connection');
  server.on('connection', (socket: CountedSocket) => {
    // Behind a trusted balancer's PROXY header (edge/proxy-protocol, which runs this once it has read it), the client it names.
    const address = peerAddress(socket);
    if (trust(address, 0)) return admit(socket);
    const key = clientKey(address);
    let client = clients.get(key);
    if (client === undefined) {
      client = { key, open: 0, refused: 0, loggedAt: -Infinity };
      clients.set(key, client);
    } else if (client.open >= max) {
      socket.destroy();
      return noteRefusal(client, max, log, listener);
    }
    client.open++;
    socket[CLIENT] = client;
    socket.once('close', release);
    admit(socket);
  });
}

function noteRefusal(client: Client, max: number, log: Logger, listener: 'https' | 'redirect'): void {
  client.refused++;
  const now = performance.now();
  if (now - client.loggedAt < LOG_EVERY_MS) return;
  log.warn({ event: 'client-connection-limit', listener, client: client.key, limit: max, refused: client.refused },
    'a client holds edge.limits.maxConnectionsPerClient connections: its new ones are closed at accept');
  client.loggedAt = now;
  client.refused = 0;
}

/**
 * The address for IPv4; for IPv6 its /64, the smallest block a site or a host is given (one machine
 * can hold millions of IPv6 addresses of its /64, so counting single ones would cap nothing).
 */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address;
  const bare = address.replace(/%.*$/, ''); // a zone id names an interface, not a host
  const [head = '', tail] = bare.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) {
    const rest = tail === '' ? [] : tail.split(':');
    // An embedded IPv4 (64:ff9b::1.2.3.4) stands for two groups, both past the /64.
    const size = rest.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
    while (groups.length < 8 - size) groups.push('0');
    groups.push(...rest);
  }
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
