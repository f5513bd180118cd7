// Reads a tier's GET /metrics the way Prometheus would: the text exposition
// format, strictly enough that a malformed line, a sample without its TYPE
// line or a non-number value fails the test instead of being skipped.
import assert from 'node:assert/strict';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
  /** The value of the one sample with this name whose labels include these; undefined when none. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
  /** name{labels} of every sample: what the series count is made of. */
  series(): Set<string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      assert.ok(name && /^(counter|gauge|histogram|summary|untyped)$/.test(type ?? ''), `bad TYPE line: ${line}`);
      types.set(name, type!);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2] !== undefined && m[2] !== '') {
      LABEL.lastIndex = 0;
      let consumed = 0;
      for (let l = LABEL.exec(m[2]); l !== null; l = LABEL.exec(m[2])) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
        consumed = LABEL.lastIndex;
      }
      assert.equal(consumed, m[2].length, `bad labels: ${line}`);
    }
    // Prometheus parses values with Go's ParseFloat: NaN in any case (prom-client writes "Nan" for an empty event-loop histogram).
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(m[3]!), `bad value: ${line}`);
    const family = types.has(m[1]!) ? m[1]! : SUFFIXES.map((s) => (m[1]!.endsWith(s) ? m[1]!.slice(0, -s.length) : '')).find((f) => types.has(f));
    assert.ok(family, `sample without a TYPE line: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  const matches = (s: Sample, want: Readonly<Record<string, string>>) => Object.entries(want).every(([k, v]) => s.labels[k] === v);
  return {
    types,
    samples,
    value(name, want = {}) {
      const found = samples.filter((s) => s.name === name && matches(s, want));
      assert.ok(found.length <= 1, `${name} ${JSON.stringify(want)} matches ${found.length} samples`);
      return found[0]?.value;
    },
    series: () => new Set(samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`)),
  };
}

export async function scrape(adminUrl: string): Promise<Exposition> {
  const res = await fetch(`${adminUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}
