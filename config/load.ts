// The loader of Gatehouse's config file: shared/config/load.ts's mechanics (YAML, environment overrides,
// compiler-style errors, freezing) bound to the whole-file schema, its cross-checks and its file paths.
// Only entry points and tests import this (see config/schema.ts).
import { resolve } from 'node:path';
import { createConfigLoader } from '../shared/config/load.js';
import { ConfigSchema, type Config } from './schema.js';
import { crossCheck } from './cross-check.js';

export { ConfigError } from '../shared/config/load.js';

/** This module's own URL: the reload validator's worker imports it to check candidates off the serving thread. */
export const url = new URL(import.meta.url);

export const { loadConfigFile, parseConfig } = createConfigLoader<Config>({ schema: ConfigSchema, crossCheck, resolveFiles });

/** File paths in the config are relative to the config file, not to wherever the process started. */
function resolveFiles(config: Config, dir: string): void {
  const tls = config.edge?.tls;
  for (const c of tls?.certificates ?? []) {
    c.cert = resolve(dir, c.cert);
    c.key = resolve(dir, c.key);
  }
  if (tls?.clientCertificates) tls.clientCertificates.ca = resolve(dir, tls.clientCertificates.ca);
  for (const issuer of config.auth.jwt?.issuers ?? []) {
    if (issuer.keyFiles) issuer.keyFiles = issuer.keyFiles.map((f) => resolve(dir, f));
    if (issuer.secretFile) issuer.secretFile = resolve(dir, issuer.secretFile);
  }
  for (const key of config.identity.keys) if (key.secretFile) key.secretFile = resolve(dir, key.secretFile);
  if (config.consul?.snapshotDir) config.consul.snapshotDir = resolve(dir, config.consul.snapshotDir);
  if (config.redis?.tls?.ca) config.redis.tls.ca = resolve(dir, config.redis.tls.ca);
}
