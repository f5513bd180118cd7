// Which build a process runs and since when: the admin API's /admin/build and each dashboard snapshot.
import { readFileSync } from 'node:fs';

export interface BuildFacts {
  readonly version: string;
  readonly node: string;
  readonly tier: 'edge' | 'router';
  readonly startedAt: string;
  readonly pid: number;
}

const STARTED_AT = new Date().toISOString();
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function buildFacts(tier: 'edge' | 'router'): BuildFacts {
  return { version: VERSION, node: process.version, tier, startedAt: STARTED_AT, pid: process.pid };
}
