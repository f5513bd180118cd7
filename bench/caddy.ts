// Caddy as a one-hop peer (a Go reverse proxy): keep-alive to the backend,
// no access log, no admin endpoint, no automatic HTTPS.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startChild } from './children.js';

export function startCaddy(bin: string, port: number, upstream: number): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-caddy-'));
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, `{
  admin off
  auto_https off
  persist_config off
}
http://127.0.0.1:${port} {
  bind 127.0.0.1
  reverse_proxy 127.0.0.1:${upstream}
}
`);
  // Caddy keeps state under XDG folders: a throwaway one, never the user's.
  const env = { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, HOME: dir };
  return startChild(bin, ['run', '--config', file, '--adapter', 'caddyfile'], env);
}
