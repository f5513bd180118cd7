// Finds the real infrastructure binaries the tests run, or says exactly which
// is missing and how to install it. Tests never fall back to a mock.
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try { accessSync(candidate, constants.X_OK); return candidate; } catch { /* keep looking */ }
  }
  return undefined;
}

function executable(path: string): boolean {
  try { accessSync(path, constants.X_OK); return true; } catch { return false; }
}

export function redisServerBinary(): string {
  const found = process.env.GATEHOUSE_REDIS_SERVER ?? onPath('redis-server');
  if (!found) throw new Error('redis-server not found: install it with `apt-get install redis-server` (or set GATEHOUSE_REDIS_SERVER to its path)');
  return found;
}

/** The pinned Consul version, read from the build module so tests and the build script agree. */
function consulVersion(): string {
  const goMod = readFileSync(resolve(repoRoot(), 'deploy/consul-tool/go.mod'), 'utf8');
  const m = /github\.com\/hashicorp\/consul (v[0-9.]+)/.exec(goMod);
  return m?.[1] ?? 'unknown';
}

export function repoRoot(): string {
  // dist/test/harness/binaries.js -> repo root
  return resolve(new URL('.', import.meta.url).pathname, '../../..');
}

/** Where tools built or installed outside the repo live (the same folder the build scripts use). */
export function cacheDir(): string {
  return process.env.GATEHOUSE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gatehouse');
}

export function consulBinary(): string {
  const candidates = [process.env.GATEHOUSE_CONSUL_BIN, join(cacheDir(), `consul-${consulVersion()}`, 'consul'), onPath('consul')];
  const found = candidates.find((c): c is string => c !== undefined && executable(c));
  if (!found) throw new Error('consul not found: build it with `bash deploy/build-consul.sh` (needs Go; about 5-8 minutes, once), or set GATEHOUSE_CONSUL_BIN to a consul binary');
  return found;
}

/** HAProxy, the L4 balancer of the PROXY protocol interop test (CI installs Debian's package). */
export function haproxyBinary(): string {
  const found = process.env.GATEHOUSE_HAPROXY_BIN ?? onPath('haproxy') ?? ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find(executable);
  if (!found) throw new Error('haproxy not found: install it with `apt-get install haproxy` (or set GATEHOUSE_HAPROXY_BIN to its path)');
  return found;
}
