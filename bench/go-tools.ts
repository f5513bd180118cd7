// Benchmark peers and load tools built from Go modules (Caddy, vegeta) into
// a cache folder outside the repo by their build scripts, once. The smoke
// test never builds: it finds the binary or names the command that builds it.
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../test/harness/binaries.js';
import { runToEnd } from './children.js';

const tools = {
  caddy: { script: 'build-caddy.sh', dir: 'caddy-tool', module: 'github.com/caddyserver/caddy/v2' },
  vegeta: { script: 'build-vegeta.sh', dir: 'vegeta-tool', module: 'github.com/tsenart/vegeta/v12' },
} as const;

export type GoTool = keyof typeof tools;

const benchDir = (file: string) => fileURLToPath(new URL(`../../bench/${file}`, import.meta.url));

/**
 * The tool's binary: GATEHOUSE_<NAME>_BIN, else the cached build. With build (npm run bench), a
 * missing one is built first (minutes, once); without (the smoke test), it is an error naming the command.
 */
export async function goTool(name: GoTool, build: boolean, signal?: AbortSignal): Promise<string> {
  const env = process.env[`GATEHOUSE_${name.toUpperCase()}_BIN`];
  if (env) return env;
  const { script } = tools[name];
  if (build) return (await runToEnd('bash', [benchDir(script)], { showStderr: true, signal })).trim().split('\n').at(-1)!;
  const bin = cachedBinary(name);
  try {
    accessSync(bin, constants.X_OK);
    return bin;
  } catch {
    throw new Error(`${name} is not built (looked for ${bin}): run \`bash bench/${script}\` first (needs Go; a few minutes, once), or set GATEHOUSE_${name.toUpperCase()}_BIN. The benchmark's smoke test never builds or downloads anything itself.`);
  }
}

/** Where deploy/build-go-tool.sh puts the pinned version named in the tool module's go.mod. */
function cachedBinary(name: GoTool): string {
  const { dir, module } = tools[name];
  const goMod = readFileSync(benchDir(`${dir}/go.mod`), 'utf8');
  const version = new RegExp(`${module.replace(/\./g, '\\.')} (v[0-9.]+)`).exec(goMod)?.[1] ?? 'unknown';
  return join(cacheDir(), `${name}-${version}`, name);
}
