// Benchmark peers and load tools built from Go modules (Caddy, vegeta) into
// a cache folder outside the repo by their build scripts, once; later calls
// only print the cached binary's path.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const scripts = { caddy: 'build-caddy.sh', vegeta: 'build-vegeta.sh' } as const;

export function goTool(name: keyof typeof scripts): string {
  const env = process.env[`GATEHOUSE_${name.toUpperCase()}_BIN`];
  if (env) return env;
  const script = fileURLToPath(new URL(`../../bench/${scripts[name]}`, import.meta.url));
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').at(-1)!;
}
