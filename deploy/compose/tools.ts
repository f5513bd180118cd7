// `docker compose run --rm tools COMMAND ...`: the compose demo's operator
// commands in the gatehouse image. `token [SUBJECT]` prints a demo JWT, `keys
// create|list|revoke` manages API keys in the stack's Redis, `dashboard` prints
// the dashboard's and metrics' URLs. It only picks the program; each checks its own arguments.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PROGRAMS: Record<string, string> = {
  token: 'deploy/compose/token.js',
  keys: 'edge/auth/keys-cli.js',
  sessions: 'edge/auth/sessions-cli.js',
  dashboard: 'deploy/compose/dashboard-url.js',
};
const [command, ...args] = process.argv.slice(2);
const program = command === undefined ? undefined : PROGRAMS[command];
if (program === undefined) {
  process.stderr.write(`usage: tools ${Object.keys(PROGRAMS).join('|')} [ARGS...]\n  token [SUBJECT] [--scopes a,b] [--ttl SECONDS]\n  keys create --consumer NAME --scopes SCOPE[,SCOPE...]\n  dashboard\n`);
  process.exit(2);
}
const run = spawnSync(process.execPath, [join(dist, program), ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
