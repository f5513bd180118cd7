// A bad config file stops start-up with a message naming the file, the line,
// the field and what was expected; a good one loads with defaults filled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseConfig, ConfigError } from '../../config/load.js';
import { repoRoot } from '../harness/binaries.js';

const GOOD = `
router:
  listen: { port: 9080 }
  admin: { port: 9081 }
routes:
  - name: orders
    match: { pathPrefix: /orders }
    service: orders
    auth: { anonymous: true }
identity:
  keys: [{ id: k1, secret: 0123456789abcdef0123456789abcdef }]
services:
  orders:
    static: [http://10.0.0.5:8080]
`;

function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, '/etc/gatehouse/gatehouse.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.file, '/etc/gatehouse/gatehouse.yaml');
    return [...err.problems];
  }
  assert.fail('expected the config to be refused');
}

test('a valid config loads with defaults filled in and frozen', () => {
  const c = parseConfig(GOOD, 'x.yaml');
  assert.equal(c.routes[0]!.timeoutMs, 30_000);
  assert.equal(c.router!.listen.host, '127.0.0.1');
  assert.deepEqual(c.router!.trustedProxies, []);
  assert.equal(c.log.level, 'info');
  assert.ok(Object.isFrozen(c.routes[0]));
});

test('a wrong type names the line, the field, what was expected and what was found', () => {
  const [p, ...rest] = problems(GOOD.replace('service: orders', 'service: orders\n    timeoutMs: soon'));
  assert.equal(rest.length, 0);
  assert.match(p!, /^line 9:16: routes\[0\]\.timeoutMs: expected .*integer.*, found "soon"$/);
});

test('a secret field\'s wrong value is named but never echoed: the message reaches logs and /config/status', () => {
  const [p, ...rest] = problems(GOOD.replace('secret: 0123456789abcdef0123456789abcdef', 'secret: hunter2-too-short'));
  assert.deepEqual(rest, []);
  assert.match(p!, /^line \d+:\d+: identity\.keys\[0\]\.secret: expected .*, found \[redacted\]$/);
  assert.doesNotMatch(p!, /hunter2/);
  // Any other field still shows what was found.
  assert.match(problems(GOOD.replace('service: orders', 'service: orders\n    timeoutMs: soon'))[0]!, /found "soon"$/);
});

test('a value outside a list of choices is one line naming every allowed value', () => {
  const all = problems(GOOD.replace('static: [http://10.0.0.5:8080]', 'static: [http://10.0.0.5:8080]\n    balancer: { algorithm: consistent-hash }'));
  assert.deepEqual(all, [
    'line 15:28: services.orders.balancer.algorithm: expected one of "round-robin", "weighted", "least-request", "peak-ewma", "ring-hash", "maglev", found "consistent-hash"',
  ]);
});

test('every problem is reported at once, unknown fields and missing ones included', () => {
  const text = GOOD.replace('admin: { port: 9081 }', 'admn: { port: 9081 }').replace('pathPrefix: /orders', 'pathPrefix: orders');
  const all = problems(text);
  assert.ok(all.some((p) => /router\.admin: is required but missing/.test(p)), all.join('\n'));
  assert.ok(all.some((p) => /router\.admn: unknown field/.test(p)), all.join('\n'));
  assert.ok(all.some((p) => /routes\[0\]\.match\.pathPrefix: expected .*\^\//.test(p)), all.join('\n'));
});

test('a route naming an undefined service is refused with the services that exist', () => {
  const [p] = problems(GOOD.replace('service: orders', 'service: order'));
  assert.match(p!, /routes\[0\]\.service: names service "order", which is not defined under services \(defined: orders\)/);
});

test('a service must be exactly one of consul or static', () => {
  const [p] = problems(GOOD.replace('static: [http://10.0.0.5:8080]', 'static: [http://10.0.0.5:8080]\n    consul: { service: orders }') + 'consul: {}\n');
  assert.match(p!, /services\.orders: expected exactly one of "consul" or "static", found both/);
});

test('Consul discovery without a consul section is refused', () => {
  const [p] = problems(GOOD.replace('static: [http://10.0.0.5:8080]', 'consul: { service: orders }'));
  assert.match(p!, /consul: a service is discovered through Consul/);
});

test('a bad trusted proxy and a YAML syntax error are reported with their lines', () => {
  assert.match(problems(GOOD.replace('admin: { port: 9081 }', 'admin: { port: 9081 }\n  trustedProxies: [999.1.1.1]'))[0]!, /router\.trustedProxies\[0\]: expected an IP address or CIDR range/);
  assert.match(problems('router: {\n  listen: [')[0]!, /^line \d+:\d+: YAML syntax:/);
});

test('environment variables override connection settings and are validated too', () => {
  const c = parseConfig(GOOD, 'x.yaml', { GATEHOUSE_ROUTER_PORT: '7000', GATEHOUSE_REDIS_URL: 'redis://10.1.1.1:6379', GATEHOUSE_CONSUL_ADDR: 'http://consul:8500', GATEHOUSE_CONSUL_TOKEN: 't' });
  assert.equal(c.router!.listen.port, 7000);
  assert.equal(c.redis!.url, 'redis://10.1.1.1:6379');
  assert.equal(c.consul!.address, 'http://consul:8500');
  assert.equal(c.consul!.token, 't');
  assert.match(problems(GOOD, { GATEHOUSE_ROUTER_PORT: 'eighty' })[0]!, /environment GATEHOUSE_ROUTER_PORT="eighty": expected router port/);
  assert.match(problems(GOOD, { GATEHOUSE_REDIS_URL: 'localhost:6379' })[0]!, /redis\.url: expected/);
});

test('a tier started with a malformed config exits non-zero with a one-paragraph error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, GOOD.replace('port: 9080', 'port: 99999'));
  const run = spawnSync(process.execPath, [resolve(repoRoot(), 'dist/router/main.js'), '--config', file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 2);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, new RegExp(`^gatehouse router: invalid config ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\n  line 3:\\d+: router\\.listen\\.port: expected TCP port .*<= 65535.*, found 99999\\n$`));
  const missing = spawnSync(process.execPath, [resolve(repoRoot(), 'dist/edge/main.js'), '--config', join(dir, 'nope.yaml')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read the file: ENOENT/);
});

const EDGE_LISTENING = (listen: string) => `
edge:
  listen: ${listen}
  admin: { port: 0 }
  tls: { certificates: [{ cert: /etc/gatehouse/cert.pem, key: /etc/gatehouse/key.pem }] }
  router: { static: [http://127.0.0.1:9080] }
routes: []
identity:
  keys: [{ id: k1, secret: 0123456789abcdef0123456789abcdef }]
`;

test('edge.listen.proxyProtocol is off unless set; when set, required and a 3 s timeout by default; trusted peers checked like trustedProxies', () => {
  assert.equal(parseConfig(EDGE_LISTENING('{ port: 443 }'), 'x.yaml').edge!.listen.proxyProtocol, undefined);
  assert.deepEqual(parseConfig(EDGE_LISTENING('{ port: 443, proxyProtocol: { trustedPeers: [10.0.0.0/8] } }'), 'x.yaml').edge!.listen.proxyProtocol, { trustedPeers: ['10.0.0.0/8'], required: true, timeoutMs: 3_000 });
  assert.match(problems(EDGE_LISTENING('{ port: 443, proxyProtocol: { trustedPeers: [10.0.0.0/8, 999.1.1.1] } }'))[0]!, /edge\.listen\.proxyProtocol\.trustedPeers\[1\]: expected an IP address or CIDR range, found "999\.1\.1\.1"/);
  assert.match(problems(EDGE_LISTENING('{ port: 443, proxyProtocol: { trustedPeers: [] } }'))[0]!, /edge\.listen\.proxyProtocol\.trustedPeers/);
  assert.match(problems(EDGE_LISTENING('{ port: 443, proxyProtocol: { trustedPeers: [10.0.0.1], timeoutMs: 0 } }'))[0]!, /edge\.listen\.proxyProtocol\.timeoutMs/);
  assert.match(problems(GOOD.replace('listen: { port: 9080 }', 'listen: { port: 9080, proxyProtocol: { trustedPeers: [10.0.0.1] } }'))[0]!, /router\.listen.*proxyProtocol/, 'the edge\'s HTTPS listener only');
});

test('an admin listener bound beyond loopback without a token is refused at load; a token or a loopback bind is accepted', () => {
  const admin = (a: string) => GOOD.replace('admin: { port: 9081 }', `admin: ${a}`);
  assert.match(problems(admin('{ host: 0.0.0.0, port: 9081 }')).join('\n'), /router\.admin\.host.*binds 0\.0\.0\.0, beyond loopback, without a token: set router\.admin\.tokenEnv or tokenFile/);
  assert.match(problems(EDGE_LISTENING('{ port: 443 }').replace('admin: { port: 0 }', 'admin: { host: "::", port: 0 }')).join('\n'), /edge\.admin\.host.*beyond loopback, without a token/);
  assert.match(problems(admin('{ host: 10.0.0.5, port: 9081, tokenEnv: T, tokenFile: /t }')).join('\n'), /router\.admin.*at most one of tokenEnv or tokenFile/);
  for (const ok of ['{ host: 0.0.0.0, port: 9081, tokenEnv: ADMIN_TOKEN }', '{ host: localhost, port: 9081 }', '{ host: "::1", port: 9081 }', '{ port: 9081 }']) {
    assert.doesNotThrow(() => parseConfig(admin(ok), 'x.yaml'), ok);
  }
  assert.equal(parseConfig(admin('{ host: 0.0.0.0, port: 9081, tokenFile: secrets/admin }'), '/etc/gatehouse/g.yaml').router!.admin.tokenFile, '/etc/gatehouse/secrets/admin', 'relative to the file');
});
