// Express Gateway as the Node API-gateway peer, one hop with its proxy policy
// and nothing else. Installed by bench/install-express-gateway.sh into its own
// folder in the cache, never among the project's dependencies (its tree is
// large and unmaintained); its version is pinned in bench/express-gateway-tool/.
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { cacheDir } from '../test/harness/binaries.js';
import { runToEnd, startChild } from './children.js';

const INSTALL = 'bash bench/install-express-gateway.sh';
const benchDir = (file: string) => fileURLToPath(new URL(`../../bench/${file}`, import.meta.url));

/** The pinned version, from the tool's package.json (the install script reads the same line). */
export function expressGatewayVersion(): string {
  const pkg = JSON.parse(readFileSync(benchDir('express-gateway-tool/package.json'), 'utf8')) as { dependencies: Record<string, string> };
  return pkg.dependencies['express-gateway']!;
}

/**
 * The installed package's folder. With install (npm run bench), a missing one is installed first
 * (about 20 s, once); without (the smoke test), it is an error naming the command that installs it.
 */
export async function ensureExpressGateway(install: boolean, signal?: AbortSignal): Promise<string> {
  const version = expressGatewayVersion();
  const moduleDir = join(cacheDir(), `express-gateway-${version}`, 'node_modules', 'express-gateway');
  if (existsSync(join(moduleDir, 'package.json'))) return moduleDir;
  if (!install) throw new Error(`Express Gateway ${version} is not installed (looked in ${moduleDir}): run \`${INSTALL}\` first (npm, about 20 s, once). The benchmark's smoke test never installs anything itself.`);
  return (await runToEnd('bash', [benchDir('install-express-gateway.sh')], { showStderr: true, signal })).trim().split('\n').at(-1)!;
}

export function startExpressGateway(moduleDir: string, port: number, upstream: number): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-eg-'));
  cpSync(join(moduleDir, 'lib/config/models'), join(dir, 'models'), { recursive: true });
  writeFileSync(join(dir, 'gateway.config.yml'), stringify({
    http: { port, hostname: '127.0.0.1' },
    apiEndpoints: { api: { host: '*', paths: '/*' } },
    serviceEndpoints: { backend: { url: `http://127.0.0.1:${upstream}` } },
    policies: ['proxy'],
    pipelines: { default: { apiEndpoints: ['api'], policies: [{ proxy: { action: { serviceEndpoint: 'backend' } } }] } },
  }));
  // Its in-memory store (emulate) stands in for Redis: the proxy policy never reads it.
  writeFileSync(join(dir, 'system.config.yml'), stringify({
    db: { redis: { emulate: true, namespace: 'EG' } },
    crypto: { cipherKey: 'bench', algorithm: 'aes256', saltRounds: 10 },
    session: { secret: 'bench', resave: false, saveUninitialized: false },
    accessTokens: { timeToExpiry: 7_200_000 }, refreshTokens: { timeToExpiry: 7_200_000 }, authorizationCodes: { timeToExpiry: 300_000 },
  }));
  const script = `require(${JSON.stringify(moduleDir)})().load(${JSON.stringify(dir)}).run()`;
  return startChild(process.execPath, ['-e', script], { ...process.env, LOG_LEVEL: 'error', NODE_ENV: 'production' });
}
