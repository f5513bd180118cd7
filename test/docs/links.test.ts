// The README stays a front page (at most 200 lines) whose minimal config loads, and every relative link in it and
// in docs/ leads somewhere: the file exists and, for a link to a heading, the heading does too (GitHub's anchors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseConfig } from '../../config/load.js';
import { repoRoot } from '../harness/binaries.js';

const root = repoRoot();
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));
}

/** Relative links of a page, outside code blocks and code spans. */
function links(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
}

test('the README is at most 200 lines', () => {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n').length;
  assert.ok(lines <= 201, `README.md has ${lines - 1} lines; move the detail into docs/`);
});

test('every relative link in the README and docs/ leads to a file and heading that exist', () => {
  const broken: string[] = [];
  for (const page of pages) {
    const from = join(root, page);
    for (const link of links(from)) {
      const [path, hash] = link.split('#') as [string, string | undefined];
      const target = path === '' ? from : resolve(dirname(from), path);
      if (!existsSync(target)) broken.push(`${page}: ${link} (no ${relative(root, target)})`);
      else if (hash && target.endsWith('.md') && !anchors(target).has(hash)) broken.push(`${page}: ${link} (no heading #${hash})`);
    }
  }
  assert.deepEqual(broken, []);
});

test('the README links every page of docs/', () => {
  const readme = links(join(root, 'README.md')).map((l) => l.split('#')[0]);
  const missing = pages.filter((p) => p.startsWith('docs/') && !readme.includes(p));
  assert.deepEqual(missing, [], 'link these from the README');
});

test('the README\'s minimal config loads as it is printed', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const yaml = /^## A minimal config\n[\s\S]*?^```yaml\n([\s\S]*?)^```/m.exec(readme)?.[1];
  assert.ok(yaml, 'no yaml block under "## A minimal config"');
  const config = parseConfig(yaml, join(root, 'gatehouse.yaml'));
  assert.deepEqual(config.routes.map((r) => r.name), ['orders', 'status']);
  assert.equal(config.edge?.limits.maxHeaderBytes, 16_384);
});
