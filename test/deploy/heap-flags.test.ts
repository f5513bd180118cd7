// The tiers' heap flags (shared/heap-flags.ts): the image starts node with the same ones npm start and the
// bench pass, and they bound what V8's young generation takes under a gateway's kind of garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { TIER_NODE_FLAGS, TIER_NODE_OPTIONS } from '../../shared/heap-flags.js';
import { repoRoot } from '../harness/binaries.js';

test('the image sets NODE_OPTIONS to the tiers\' heap flags', () => {
  const dockerfile = readFileSync(join(repoRoot(), 'deploy/Dockerfile'), 'utf8');
  const set = [...dockerfile.matchAll(/^ENV NODE_OPTIONS="([^"]*)"$/gm)].map((m) => m[1]);
  assert.deepEqual(set, [TIER_NODE_OPTIONS]);
});

// Short-lived objects in bulk, as requests make them, then the young generation's committed size in MB.
const churn = `
const v8 = require('node:v8');
let keep = [];
for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i, a: [i, i] }); if (keep.length > 2000) keep = []; }
const nw = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
console.log(nw.space_size / 1048576);`;
const youngMb = (flags: readonly string[]) => Number(spawnSync(process.execPath, [...flags, '-e', churn], { encoding: 'utf8' }).stdout.trim());

test('with the tiers\' flags the young generation stays at a few MB; Node\'s default lets it grow past them', () => {
  const tuned = youngMb(TIER_NODE_FLAGS);
  const untuned = youngMb([]);
  assert.ok(tuned > 0 && tuned <= 8, `young generation with ${TIER_NODE_OPTIONS}: ${tuned} MB`);
  assert.ok(untuned > tuned, `Node's default: ${untuned} MB, tuned ${tuned} MB`);
});
