// `docker compose run --rm tools dashboard`: prints where the stack's dashboard and metrics are, the
// dashboard's URL with the admin token (from the secrets volume) in its fragment, which the browser
// keeps to itself. The front publishes one edge's admin listener at a time; every edge's dashboard
// shows the whole system.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const secrets = process.env.GATEHOUSE_SECRETS_DIR ?? '/secrets';
const published = process.env.GATEHOUSE_ADMIN_PUBLISH ?? '127.0.0.1:8445';
let token: string;
try {
  token = readFileSync(join(secrets, 'admin-token'), 'utf8').trim();
} catch (err) {
  process.stderr.write(`dashboard: cannot read the admin token in ${secrets} (${(err as Error).message}); has the secrets service run?\n`);
  process.exit(1);
}
// No port, or 0, lets Docker choose one: `docker compose port front 8445` tells which.
const base = /:0?$/.test(published) ? 'http://<docker compose port front 8445>' : `http://${published}`;
process.stdout.write([
  `dashboard  ${base}/dashboard#token=${token}`,
  `metrics    ${base}/metrics   (one edge per request; Prometheus finds every edge and router in Consul, meta gatehouse-admin)`,
  `admin API  curl -H 'authorization: Bearer ${token}' ${base}/admin/cluster`,
  '',
].join('\n'));
