// The routes services publish, as an overlay of the live config (shared/config/live.ts): the Consul source
// starts when a config first has a publishedRoutes section, each of its reports rebuilds the tier with the
// same document, and what was granted or refused is logged once per change.
import type { Logger } from 'pino';
import type { Config } from './schema.js';
import type { ConfigOverlay } from '../shared/config/live.js';
import { consulClient } from '../shared/discovery/directory.js';
import { PublishedRoutesSource } from '../shared/discovery/published-routes-source.js';
import { PublishedRoutesReport } from '../shared/routing/published-routes-report.js';
import type { PublishedClaim } from '../shared/routing/published-routes.js';
import { withPublishedRoutes } from './published-routes.js';

export interface PublishedOverlay extends ConfigOverlay<Config> {
  /** Resolves at the source's first answer, or after timeoutMs: a tier starting waits so it starts with them. */
  firstAnswer(timeoutMs: number): Promise<void>;
}

export function publishedRoutesOverlay(log: Logger): PublishedOverlay {
  let claims: readonly PublishedClaim[] = [];
  let source: PublishedRoutesSource | undefined;
  let changed: (() => void) | undefined;
  let answered: () => void = () => undefined;
  const first = new Promise<void>((resolve) => { answered = resolve; });
  const report = new PublishedRoutesReport(log);

  return {
    apply(config) {
      if (config.publishedRoutes === undefined || config.consul === undefined) return config;
      // Consul's address is a restart-only field: the source made from the first config with the section serves on.
      source ??= new PublishedRoutesSource(consulClient(config.consul), config.consul, (next) => {
        claims = next;
        answered();
        changed?.();
      }, log);
      const out = withPublishedRoutes(config, claims);
      report.report(out.published, out.refusals);
      return out.config;
    },
    start(onChange) { changed = onChange; },
    close() { source?.close(); },
    async firstAnswer(timeoutMs) {
      if (source === undefined) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([first, new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); })]);
      clearTimeout(timer);
    },
  };
}
