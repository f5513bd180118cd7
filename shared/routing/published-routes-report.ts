// Logs what changed in the published routes between two resolutions: each route published or withdrawn,
// each refusal once while it lasts. Never a line per Consul answer or per config reload that changed nothing.
import type { Logger } from 'pino';
import type { PublishedRoute, Refusal } from './published-routes.js';

export class PublishedRoutesReport {
  private routes = new Map<string, string>();
  private refusals = new Set<string>();

  constructor(private readonly log: Logger) {}

  report(published: readonly PublishedRoute[], refusals: readonly Refusal[]): void {
    const routes = new Map(published.map((r) => [r.name, JSON.stringify(r)]));
    for (const r of published) {
      const before = this.routes.get(r.name);
      if (before === routes.get(r.name)) continue;
      const action = before === undefined ? 'published' : 'changed';
      this.log.info(
        { event: 'published-route', action, route: r.name, service: r.service, prefix: r.match.pathPrefix, host: r.match.host, profile: r.profile, stripPrefix: r.stripPrefix },
        `service ${r.service} ${action} route ${r.name}: ${r.match.host ?? ''}${r.match.pathPrefix} with profile ${r.profile}`,
      );
    }
    for (const [name, before] of this.routes) {
      if (routes.has(name)) continue;
      const r = JSON.parse(before) as PublishedRoute;
      this.log.info(
        { event: 'published-route', action: 'withdrawn', route: name, service: r.service, prefix: r.match.pathPrefix, host: r.match.host, profile: r.profile },
        `service ${r.service} withdrawn route ${name}: ${r.match.host ?? ''}${r.match.pathPrefix}`,
      );
    }
    const seen = new Set<string>();
    for (const { service, reason } of refusals) {
      const key = `${service}\0${reason}`;
      seen.add(key);
      if (!this.refusals.has(key)) this.log.warn({ event: 'published-route-refused', service, reason }, `service ${service} may not publish its route: ${reason}`);
    }
    this.routes = routes;
    this.refusals = seen;
  }
}
