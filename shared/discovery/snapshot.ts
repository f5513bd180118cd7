// The last known instances of every Consul-discovered service, on disk, so a
// tier restarted while Consul is down starts serving from them instead of
// answering 503 (the snapshot is the fallback, Consul's first answer wins).
// Written atomically (temp file + rename); a bad or old file is ignored.
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Instance } from './instance.js';
import type { Seed } from './consul-source.js';

interface SnapshotFile {
  readonly version: 1;
  readonly services: Record<string, { instances: Instance[]; savedAt: string }>;
}

export class Snapshot {
  private readonly services: SnapshotFile['services'];
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly file: string, private readonly maxAgeMs: number, private readonly log: Logger) {
    this.services = this.read();
  }

  seed(service: string): Seed | undefined {
    const entry = this.services[service];
    if (!entry || Date.now() - Date.parse(entry.savedAt) > this.maxAgeMs) return undefined;
    return { instances: Object.freeze(entry.instances.map((i) => Object.freeze({ ...i }))), savedAt: entry.savedAt };
  }

  /** Records a change; writes are coalesced so a burst of changes costs one write. */
  record(service: string, instances: readonly Instance[]): void {
    this.services[service] = { instances: [...instances], savedAt: new Date().toISOString() };
    this.pending ??= setTimeout(() => this.write(), 200);
    this.pending.unref();
  }

  flush(): void {
    if (this.pending !== undefined) this.write();
  }

  private write(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: 1, services: this.services } satisfies SnapshotFile));
      renameSync(tmp, this.file);
    } catch (err) {
      this.log.warn({ event: 'discovery-snapshot-failed', file: this.file, err: (err as Error).message }, 'could not write the discovery snapshot');
    }
  }

  private read(): SnapshotFile['services'] {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as SnapshotFile;
      if (parsed.version === 1 && parsed.services && typeof parsed.services === 'object') return parsed.services;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ event: 'discovery-snapshot-ignored', file: this.file, err: (err as Error).message }, 'ignoring an unreadable discovery snapshot');
    }
    return {};
  }
}
