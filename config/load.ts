// The loader of Gatehouse's config file: shared/config/load.ts's mechanics (YAML, environment overrides,
// compiler-style errors, freezing) bound to the whole-file schema, its cross-checks and its file paths.
// Only entry points and tests import this (see config/schema.ts).
import { resolve } from 'node:path';
import { createConfigLoader } from '../shared/config/load.js';
import { ConfigSchema, type Config } from './schema.js';
import { crossCheck } from './cross-check.js';
import { resolveFilesOf } from '../shared/config/policy-schema.js';
import { AUTH_METHODS } from '../edge/auth/registry-schema.js';

export { ConfigError } from '../shared/config/load.js';

/** This module's own URL: the reload validator's worker imports it to check candidates off the serving thread. */
export const url = new URL(import.meta.url);

export const { loadConfigFile, parseConfig } = createConfigLoader<Config>({ schema: ConfigSchema, crossCheck, resolveFiles });

/** File paths in the config are relative to the config file, not to wherever the process started. */
function resolveFiles(config: Config, dir: string): void {
  const fromDir = (path: string) => resolve(dir, path);
  const tls = config.edge?.tls;
  for (const c of tls?.certificates ?? []) {
    c.cert = fromDir(c.cert);
    c.key = fromDir(c.key);
  }
  if (tls?.clientCertificates) tls.clientCertificates.ca = fromDir(tls.clientCertificates.ca);
  // A policy's own paths are its registry entry's to know.
  for (const method of AUTH_METHODS) resolveFilesOf(method, config.auth[method.key], fromDir);
  for (const key of config.identity.keys) if (key.secretFile) key.secretFile = fromDir(key.secretFile);
  for (const tier of [config.edge, config.router]) if (tier?.admin.tokenFile) tier.admin.tokenFile = fromDir(tier.admin.tokenFile);
  if (config.consul?.snapshotDir) config.consul.snapshotDir = fromDir(config.consul.snapshotDir);
  if (config.redis?.tls?.ca) config.redis.tls.ca = fromDir(config.redis.tls.ca);
}
