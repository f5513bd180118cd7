// The Consul KV source of a tier's config, when the bootstrap file names a key (config.consul.key).
import type { KvDocuments } from './live.js';
import type { LiveSettings } from './live-tier.js';

export function configDocuments(bootstrap: LiveSettings): KvDocuments | undefined {
  if (bootstrap.config.consul === undefined) return undefined;
  return undefined; // wired to ConfigKv (kv-store.ts) when it lands
}
