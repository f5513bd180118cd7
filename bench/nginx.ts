// Debian's nginx as the bench backend (return 200 with a small JSON body:
// far cheaper than a gateway hop) and as the one- and two-hop baselines.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startChild } from './children.js';
import type { DevCertificates } from '../shared/tls/dev-certs.js';

const BODY = '{"ok":true,"service":"bench"}';

function conf(prefix: string, server: string): string {
  return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  ${server}
}
`;
}

export function startNginx(name: string, server: string): ChildProcess {
  const prefix = mkdtempSync(join(tmpdir(), `gatehouse-bench-${name}-`));
  for (const d of ['body', 'proxy', 'fcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d));
  writeFileSync(join(prefix, 'nginx.conf'), conf(prefix, server));
  return startChild('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;']);
}

export const backendServer = (port: number) => `server { listen 127.0.0.1:${port}; location / { default_type application/json; return 200 '${BODY}'; } }`;

/** With a certificate, the listener is TLS with HTTP/2 (and HTTP/1.1 by ALPN); the upstream is plain HTTP/1.1 keep-alive either way. */
export const proxyServer = (port: number, upstream: number, tls?: Pick<DevCertificates, 'keyFile' | 'certFile'>) => `upstream up { server 127.0.0.1:${upstream}; keepalive 64; }
  server { listen 127.0.0.1:${port}${tls ? ` ssl http2; ssl_certificate ${tls.certFile}; ssl_certificate_key ${tls.keyFile}` : ''}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }`;
