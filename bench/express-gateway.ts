// Express Gateway as the Node API-gateway peer, one hop with its proxy policy
// and nothing else. Installed at bench time into its own folder in the cache,
// never among the project's dependencies (its tree is large and unmaintained).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { cacheDir } from '../test/harness/binaries.js';

const VERSION = '1.16.11';

/** The installed package's folder; installs it (about 20 s, once) when missing. */
export function ensureExpressGateway(): string {
  const prefix = join(cacheDir(), `express-gateway-${VERSION}`);
  const moduleDir = join(prefix, 'node_modules', 'express-gateway');
  if (existsSync(join(moduleDir, 'package.json'))) return moduleDir;
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'package.json'), JSON.stringify({ private: true, dependencies: { 'express-gateway': VERSION } }));
  process.stderr.write(`bench: installing express-gateway ${VERSION} into ${prefix}\n`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: prefix, stdio: ['ignore', 'ignore', 'inherit'] });
  return moduleDir;
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
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error', NODE_ENV: 'production' } });
}
