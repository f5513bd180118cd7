// TLS settings of the public listener: certificate and key from config, TLS
// 1.2 minimum, HTTP/2 offered by ALPN with HTTP/1.1 fallback.
import { readFileSync } from 'node:fs';
import type { EdgeConfig } from '../shared/config/schema.js';

export function tlsServerOptions(edge: EdgeConfig): Record<string, unknown> {
  return {
    http2: true,
    https: {
      allowHTTP1: true,
      cert: readPem(edge.tls.cert, 'edge.tls.cert'),
      key: readPem(edge.tls.key, 'edge.tls.key'),
      minVersion: 'TLSv1.2',
      // Bounds per-connection concurrency against stream floods.
      settings: { maxConcurrentStreams: 100 },
    },
  };
}

function readPem(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${field}: cannot read ${path}: ${(err as Error).message}`);
  }
}
