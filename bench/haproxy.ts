// Debian's HAProxy as a one-hop peer: keep-alive to the backend, no logging.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startChild } from './children.js';

export function startHaproxy(port: number, upstream: number): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  http-reuse always
  server b1 127.0.0.1:${upstream}
`);
  return startChild('haproxy', ['-db', '-f', file]);
}
