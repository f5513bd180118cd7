// The Consul KV source of a tier's config, when the bootstrap file names a key (config.consul.key): the
// cross-checks make sure a consul section comes with it.
import type { KvDocuments } from './live.js';
import type { LiveSettings } from './live-tier.js';
import { ConfigKv } from './kv-store.js';

export function configDocuments(bootstrap: LiveSettings): (KvDocuments & { close(): void }) | undefined {
  const live = bootstrap.config.consul;
  if (live === undefined || bootstrap.consul === undefined) return undefined;
  return new ConfigKv(bootstrap.consul, live.key, live.historySize);
}
