// `docker compose up` of the repository's docker-compose.yml, for real: the
// image built from deploy/Dockerfile on the local stand-in base images, both
// tiers scaled to two, and an HTTPS request through each edge to the demo
// backend; then everything the project made is gone. Run by npm run
// test:compose (not by npm test), after .ci/run's Docker stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { composeProject, requireStandIns, runOwned } from '../harness/compose.js';
import { send } from '../harness/gateway.js';
import { waitFor } from '../harness/ports.js';

const UP_TIMEOUT_MS = 8 * 60_000; // a cold build: npm ci, tsc, and the image twice over

/** The edge container's own development CA (each edge makes one when it starts), read from inside it. */
async function edgeCa(containerId: string): Promise<string> {
  const cat = await runOwned('docker', ['exec', containerId, 'cat', '/app/.gatehouse/certs/ca.pem'], process.env, 20_000);
  if (cat.code !== 0) throw new Error(`no CA in edge container ${containerId} yet: ${cat.output}`);
  return cat.output;
}

test('docker compose up --build --scale edge=2 --scale router=2 serves HTTPS through each edge, and down leaves nothing', { timeout: 10 * 60_000 }, async (t) => {
  await requireStandIns();
  const project = composeProject({
    name: 'gatehouse-test',
    env: { GATEHOUSE_IMAGE: 'gatehouse-test/gatehouse:compose', GATEHOUSE_EDGE_PUBLISH: '127.0.0.1:' },
  });
  t.diagnostic(`compose: ${project.command.join(' ')}`);
  t.after(async () => { if (project.mayBeUp) await project.down(); }); // a failed assertion or a timeout

  // A run killed before its cleanup leaves its project up: start from nothing.
  assert.deepEqual(await project.down(), [], 'nothing left of an earlier run');

  const up = await project.run(['up', '-d', '--build', '--scale', 'edge=2', '--scale', 'router=2'], UP_TIMEOUT_MS);
  assert.equal(up.code, 0, `compose up failed:\n${up.output}`);
  assert.deepEqual(await project.containers(), [
    'backend running', 'consul running', 'edge running', 'edge running', 'redis running', 'router running', 'router running',
  ]);

  const edges = await project.published('edge', 8443);
  assert.equal(edges.length, 2);
  for (const { id, address } of edges) {
    assert.match(address, /^127\.0\.0\.1:\d+$/, 'the edge is published on loopback only');
    const client = new Agent({ connect: { ca: await waitFor(`edge ${id}'s CA`, () => edgeCa(id), 60_000, 500), servername: 'localhost' } });
    try {
      const reply = await waitFor(`HTTPS through edge ${id} at ${address}`, async () => {
        const r = await send(client, `https://${address}/demo/hello`);
        return r.status === 200 ? r : undefined;
      }, 90_000, 500);
      const body = reply.json<{ backend: string; url: string; headers: Record<string, string> }>();
      assert.equal(body.backend, 'demo');
      assert.equal(body.url, '/demo/hello');
      assert.equal(body.headers['x-request-id'], reply.headers['x-request-id'], 'the backend saw the edge\'s request id');
      assert.equal(body.headers['x-gatehouse-consumer'], 'anonymous', 'the router passed the edge\'s identity on');
    } finally {
      await client.close();
    }
  }

  assert.deepEqual(await project.down(), [], 'no container, network or volume of the project is left');
});
