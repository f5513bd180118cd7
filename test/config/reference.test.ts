// docs/configuration.md is what config/reference.ts renders from the schema, the environment overrides and the
// error codes: a field, variable or code added without running `npm run docs` fails here, and the renderer lists
// any new section (maps, lists, unions, optional fields) without being taught its shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { renderConfigurationReference, REFERENCE_FILE } from '../../config/reference.js';
import { ERRORS } from '../../shared/errors.js';
import { repoRoot } from '../harness/binaries.js';

const generated = renderConfigurationReference();

/** The reference's row for a field path, as its cells. */
function row(text: string, path: string): string[] | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`| \`${path}\` |`));
  return line?.split(/(?<!\\)\|/).slice(2, -1).map((c) => c.trim());
}

test('docs/configuration.md is exactly what the schema, env.ts and errors.ts render (else: run `npm run docs`)', () => {
  const committed = readFileSync(resolve(repoRoot(), REFERENCE_FILE), 'utf8');
  if (committed === generated) return;
  const a = committed.split('\n');
  const b = generated.split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  assert.fail(`${REFERENCE_FILE} is out of date: run \`npm run docs\` and commit it.\n`
    + `first difference at line ${at + 1}:\n  file:      ${a[at] ?? '(end of file)'}\n  generated: ${b[at] ?? '(end of file)'}`);
});

test('every field is listed with its type, default and description, the route\'s totalTimeoutMs and websocket among them', () => {
  assert.deepEqual(row(generated, 'routes[].totalTimeoutMs'), ['integer, ≥ 1', 'optional', 'the whole exchange, body included; past it 504, or the connection is cut mid-body']);
  assert.deepEqual(row(generated, 'routes[].websocket'), ['boolean', '`false`', 'pass WebSocket upgrades through (HTTP/1.1)']);
  assert.deepEqual(row(generated, 'edge.limits.maxHeaderBytes'), ['integer, 1024 to 65536', '`16384`', 'request line and headers; 431 over it']);
  assert.deepEqual(row(generated, 'services.<name>.balancer.algorithm')?.slice(0, 2),
    ['one of `round-robin`, `weighted`, `least-request`, `peak-ewma`, `ring-hash`, `maglev`', '`round-robin`']);
  assert.deepEqual(row(generated, 'edge.listen.port')?.slice(0, 2), ['integer, 0 to 65535', '*required*']);
  for (const path of ['auth.jwt.issuers[].jwks.cooldownSeconds', 'rateLimits.<name>.windows[].periodSeconds', 'redis.sentinel.sentinels[].host', 'routes[].authz.claims[].equals']) {
    assert.ok(row(generated, path), `no row for ${path}`);
  }
});

test('every field a reader sets has a description', () => {
  const bare = generated.split('\n').filter((l) => l.startsWith('| `') && l.endsWith('|  |'));
  assert.deepEqual(bare, [], 'add a description to these fields\' schemas');
});

test('every GATEHOUSE_ variable env.ts reads is in the reference, with the field it sets', () => {
  const source = readFileSync(resolve(repoRoot(), 'shared/config/env.ts'), 'utf8');
  const names = new Set(source.match(/GATEHOUSE_[A-Z_]+/g));
  assert.ok(names.size >= 12, `found only ${[...names].join(', ')}`);
  for (const name of names) assert.match(generated, new RegExp(`^\\| \`${name}\` \\| `, 'm'), `${name} is not in the reference`);
  assert.match(generated, /^\| `GATEHOUSE_EDGE_PORT` \| `edge\.listen\.port` \| an integer 0-65535 \| edge HTTPS port \|$/m);
});

test('every error code is in the reference with its status and message', () => {
  for (const [code, { status, message }] of Object.entries(ERRORS)) {
    assert.ok(generated.includes(`| ${status} | \`${code}\` | ${message.replace(/\|/g, '\\|')} |`), `${code} missing`);
  }
});

test('a new section of any shape is listed field by field: maps, lists, unions and optional fields', () => {
  const Strict = { additionalProperties: false } as const;
  const schema = Type.Object({
    published: Type.Object({
      profiles: Type.Record(Type.String(), Type.Object({
        timeoutMs: Type.Integer({ minimum: 1, default: 5000, description: 'time to answer' }),
        auth: Type.Optional(Type.Array(Type.Union([Type.Literal('jwt'), Type.Literal('mtls')]), { description: 'methods' })),
        values: Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { uniqueItems: true, description: 'values' }),
      }, Strict), { default: {}, description: 'profiles by name' }),
      allow: Type.Array(Type.Object({
        service: Type.String({ description: 'a <service> name' }),
        target: Type.Union([
          Type.Object({ prefix: Type.String({ pattern: '^/', description: 'a path | prefix' }) }, Strict),
          Type.Object({ host: Type.String({ description: 'a host' }) }, Strict),
        ], { description: 'where it may publish' }),
      }, Strict), { minItems: 1, description: 'who may publish' }),
    }, { ...Strict, description: 'routes services publish' }),
  }, Strict);
  const text = renderConfigurationReference(schema);
  assert.deepEqual(row(text, 'published'), ['object', '*required*', 'routes services publish']);
  assert.deepEqual(row(text, 'published.profiles'), ['map of any name to object', '`{}`', 'profiles by name']);
  assert.deepEqual(row(text, 'published.profiles.<name>.timeoutMs'), ['integer, ≥ 1', '`5000`', 'time to answer']);
  assert.deepEqual(row(text, 'published.profiles.<name>.auth'), ['list, each one of `jwt`, `mtls`', 'optional', 'methods']);
  assert.deepEqual(row(text, 'published.profiles.<name>.values'), ['list of (string, number or boolean); no repeats', '*required*', 'values']);
  assert.deepEqual(row(text, 'published.allow'), ['list of objects; at least 1 item', '*required*', 'who may publish']);
  assert.deepEqual(row(text, 'published.allow[].service'), ['string', '*required*', 'a &lt;service> name']);
  assert.deepEqual(row(text, 'published.allow[].target'), ['object or object', '*required*', 'where it may publish']);
  assert.deepEqual(row(text, 'published.allow[].target.prefix'), ['string, matching `^/`', '*required*', 'a path \\| prefix']);
  assert.deepEqual(row(text, 'published.allow[].target.host'), ['string', '*required*', 'a host']);
});
