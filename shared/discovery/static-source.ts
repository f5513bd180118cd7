// A fixed list of origins from the config file: resolved from the start, never changes.
import type { Instance, InstanceSource, SourceStatus } from './instance.js';

export class StaticSource implements InstanceSource {
  readonly current: readonly Instance[];
  readonly status: SourceStatus;

  constructor(origins: readonly string[]) {
    this.current = Object.freeze(origins.map((o) => {
      const url = new URL(o);
      return { id: url.origin, origin: url.origin, authority: url.host, weight: 1, meta: {} };
    }));
    this.status = { kind: 'static', resolved: true, instances: this.current.length };
  }

  close(): void {}
}
