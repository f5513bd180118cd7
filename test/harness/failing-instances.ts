// Instances that fail on their own, and what a tier reports about them: for
// tests of circuits and outlier detection on real sockets.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ResettingPort {
  readonly url: string;
  /** Connections it took, each reset at once: what a test asserts nothing more was sent to. */
  connections(): number;
  close(): Promise<void>;
}

/** A port that takes connections and resets each at once: an instance that fails on its own. */
export async function resettingPort(): Promise<ResettingPort> {
  let connections = 0;
  const server: Server = createServer((s: Socket) => { connections++; s.resetAndDestroy(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A service's open circuits and ejections as a tier's /ready reports them (check: 'routers' at the edge, 'discovery' at the router). */
export async function serviceHealth(adminUrl: string, check: string, service: string): Promise<{ openCircuits: unknown; ejected: unknown }> {
  const ready = await (await fetch(`${adminUrl}/ready`)).json() as { checks: Record<string, { services: Record<string, { openCircuits: unknown; ejected: unknown }> }> };
  const { openCircuits, ejected } = ready.checks[check]!.services[service]!;
  return { openCircuits, ejected };
}
