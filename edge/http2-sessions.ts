// Open HTTP/2 sessions of the edge, so a drain can send GOAWAY to each:
// otherwise an idle client session holds server.close() open for the whole
// session timeout.
import type { Server } from 'node:net';
import type { Http2Session } from 'node:http2';

export function trackHttp2Sessions(server: Server): { closeAll(): void; destroyAll(): void } {
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    closeAll: () => { for (const s of sessions) s.close(); },
    /** Past the shutdown timeout: the streams still open are cut. */
    destroyAll: () => { for (const s of sessions) s.destroy(); },
  };
}
