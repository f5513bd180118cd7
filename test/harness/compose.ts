// A docker compose project of the repository's docker-compose.yml, run on the
// local stand-in base images (deploy/images/) and always taken down again: its
// containers, networks and volumes, and the images its builds left dangling.
// It never installs, builds stand-ins or starts dockerd (deploy/install-docker.sh
// and deploy/images/build-base-images.sh do, from .ci/run), and never touches
// another project's containers or an image it did not make.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from './binaries.js';
import { spawnGroup, spawnOwned, stopGroup } from './process.js';

export interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command in its own process group (killed with the test however it ends); SIGTERM, then SIGKILL, at timeoutMs. */
export async function runOwned(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const owned = spawnOwned(cmd, args, env);
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; void owned.stop('SIGTERM'); }, timeoutMs);
  let failure = '';
  const code = await new Promise<number | null>((done) => {
    owned.child.once('exit', (c) => done(c));
    owned.child.once('error', (err) => { failure = `\n${cmd}: ${err.message}`; done(null); });
  });
  clearTimeout(timer);
  const output = owned.output() + failure + (timedOut ? `\n(killed after ${timeoutMs} ms)` : '');
  return { code: timedOut ? null : code, output };
}

/** docker ARGS...: its whole stdout (runOwned keeps only the tail of stdout and stderr mixed); throws on a failure. */
export async function docker(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const child = spawnGroup('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-4_000); });
  const timer = setTimeout(() => void stopGroup(child), timeoutMs);
  const code = await new Promise<number | null>((done) => {
    child.once('close', (c) => done(c));
    child.once('error', (e) => { err += `\n${e.message}`; done(null); });
  });
  clearTimeout(timer);
  if (code !== 0) throw new Error(`docker ${args.join(' ')} failed (${code}):\n${err}`);
  return Buffer.concat(out).toString();
}

/** The label deploy/images/build-base-images.sh puts on every stand-in (the hash of its inputs). */
const STAND_IN_LABEL = 'org.gatehouse.inputs';

const words = (text: string) => text.split(/\s+/).filter((w) => w !== '');

/** The stand-in tags deploy/images/stand-ins.env names (NODE_IMAGE=..., one a line). */
export function standIns(): Record<string, string> {
  const file = readFileSync(resolve(repoRoot(), 'deploy/images/stand-ins.env'), 'utf8');
  return Object.fromEntries([...file.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/**
 * The compose command: GATEHOUSE_COMPOSE if set ("docker compose" or "docker-compose"), else the v2
 * plugin when the docker CLI has it, else Debian's v1. Throws, naming the installer, when none runs.
 */
export function composeCommand(): string[] {
  const candidates = process.env.GATEHOUSE_COMPOSE ? [words(process.env.GATEHOUSE_COMPOSE)] : [['docker', 'compose'], ['docker-compose']];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate[0]!, [...candidate.slice(1), 'version'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.status === 0) return candidate;
  }
  throw new Error(`no docker compose runs (tried ${candidates.map((c) => c.join(' ')).join(', ')}): run \`bash deploy/install-docker.sh\` first`);
}

/** Fails with the command to run when no Docker daemon answers or a stand-in image is missing. */
export async function requireStandIns(): Promise<Record<string, string>> {
  const info = await runOwned('docker', ['info', '--format', '{{.ServerVersion}}'], process.env, 20_000);
  if (info.code !== 0) throw new Error(`no Docker daemon answers: run \`bash deploy/install-docker.sh\` first\n${info.output}`);
  const images = standIns();
  const missing: string[] = [];
  for (const tag of Object.values(images)) {
    const found = await runOwned('docker', ['image', 'inspect', '--format', '{{.Id}}', tag], process.env, 20_000);
    if (found.code !== 0) missing.push(tag);
  }
  if (missing.length > 0) throw new Error(`stand-in images missing: ${missing.join(', ')}: run \`bash deploy/images/build-base-images.sh\` first`);
  return images;
}

export interface ComposeProject {
  readonly name: string;
  readonly command: readonly string[];
  /** compose ARGS... for this project; resolves with the exit code and output, never rejects on a failure. */
  run(args: readonly string[], timeoutMs: number): Promise<Run>;
  /** `docker ps` lines "SERVICE STATE" for the project's containers, sorted. */
  containers(): Promise<string[]>;
  /** The ids of service's running containers. */
  ids(service: string): Promise<string[]>;
  /** Each running container of service, with the host address its containerPort is published on. */
  published(service: string, containerPort: number): Promise<Array<{ id: string; address: string }>>;
  /** down -v --remove-orphans, then the images this project's builds left dangling; resolves with what is left. */
  down(): Promise<string[]>;
  /**
   * docker run options for a container a test starts beside the project's (on its network): labelled so
   * that down(), and the cleanup at exit, remove it first, since the network cannot go while it is on it.
   */
  readonly extraLabel: readonly string[];
  /** Whether a compose command ran since the last down(). */
  readonly mayBeUp: boolean;
}

export interface ComposeOptions {
  readonly name: string;
  /** Environment the compose file reads (image names, published ports), on top of the stand-ins. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * A project over the repository's docker-compose.yml. While it may be up, it is taken down when the
 * process exits or is signalled (SIGINT, SIGTERM, SIGHUP), even if the test never calls down(); a
 * SIGKILL'd run is cleaned up by the next one, which takes the project down before it starts.
 */
export function composeProject(o: ComposeOptions): ComposeProject {
  const command = composeCommand();
  const label = `label=com.docker.compose.project=${o.name}`;
  // The stand-ins build with the classic builder: BuildKit needs the buildx plugin, which no registry here has.
  const env: NodeJS.ProcessEnv = { ...process.env, ...standIns(), DOCKER_BUILDKIT: '0', ...o.env };
  const base = [...command.slice(1), '-p', o.name, '-f', resolve(repoRoot(), 'docker-compose.yml')];
  const downArgs = ['down', '-v', '--remove-orphans', '--timeout', '5'];
  let mayBeUp = false;

  // Each build leaves its build stage, and the image its tag moved from, dangling (an interrupted one, its
  // last layer). Every image built on a stand-in inherits the stand-ins' label, so an untagged one that
  // carries it is a leftover of such a build (this run's or a killed one's), never anyone else's image.
  const forgetFreshImages = () => {
    const list = spawnSync('docker', ['images', '-q', '--no-trunc', '--filter', 'dangling=true', '--filter', `label=${STAND_IN_LABEL}`], { encoding: 'utf8', timeout: 20_000 });
    const leftovers = words(list.stdout ?? '');
    if (leftovers.length > 0) spawnSync('docker', ['image', 'rm', ...leftovers], { stdio: 'ignore', timeout: 60_000 });
  };
  const extraLabel = `org.gatehouse.compose-extra=${o.name}`;
  const removeExtras = () => {
    const list = spawnSync('docker', ['ps', '-a', '-q', '--filter', `label=${extraLabel}`], { encoding: 'utf8', timeout: 20_000 });
    const extras = words(list.stdout ?? '');
    if (extras.length > 0) spawnSync('docker', ['rm', '-f', ...extras], { stdio: 'ignore', timeout: 60_000 });
  };
  const downNow = () => {
    if (!mayBeUp) return;
    removeExtras();
    spawnSync(command[0]!, [...base, ...downArgs], { env, stdio: 'ignore', timeout: 120_000 });
    forgetFreshImages();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    downNow();
    process.kill(process.pid, signal); // the handler was a once: this signal now ends the process as it would have
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, onSignal);
  process.once('exit', downNow);

  const run = (args: readonly string[], timeoutMs: number) => {
    mayBeUp = true;
    return runOwned(command[0]!, [...base, ...args], env, timeoutMs);
  };

  async function leftovers(volumes: readonly string[]): Promise<string[]> {
    const left = [
      ...words(await docker(['ps', '-a', '-q', '--filter', label])).map((id) => `container ${id}`),
      ...words(await docker(['ps', '-a', '-q', '--filter', `label=${extraLabel}`])).map((id) => `container ${id} (started beside the project)`),
      ...words(await docker(['network', 'ls', '-q', '--filter', label])).map((id) => `network ${id}`),
      ...words(await docker(['volume', 'ls', '-q', '--filter', label])).map((id) => `volume ${id}`),
    ];
    for (const volume of volumes) {
      // Anonymous volumes (an image's VOLUME) may carry no project label: each one seen must be gone too.
      const found = await runOwned('docker', ['volume', 'inspect', volume], process.env, 20_000);
      if (found.code === 0) left.push(`volume ${volume}`);
    }
    return left;
  }

  async function idsOf(service: string): Promise<string[]> {
    return words(await docker(['ps', '-q', '--no-trunc', '--filter', label, '--filter', `label=com.docker.compose.service=${service}`])).sort();
  }

  async function down(): Promise<string[]> {
    const ids = words(await docker(['ps', '-a', '-q', '--filter', label]));
    const volumes = ids.length === 0 ? [] : words(await docker(['inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', ...ids]));
    removeExtras();
    const result = await run(downArgs, 120_000);
    if (result.code !== 0) throw new Error(`compose down failed (${result.code}):\n${result.output}`);
    mayBeUp = false;
    forgetFreshImages();
    return leftovers(volumes);
  }

  return {
    name: o.name,
    command,
    run,
    containers: async () => (await docker(['ps', '-a', '--filter', label, '--format', '{{.Label "com.docker.compose.service"}} {{.State}}'])).split('\n').filter((l) => l !== '').sort(),
    down,
    ids: idsOf,
    extraLabel: ['--label', extraLabel],
    published: async (service, containerPort) => {
      const ids = await idsOf(service);
      return Promise.all(ids.map(async (id) => ({ id, address: (await docker(['port', id, `${containerPort}/tcp`])).trim().split('\n')[0]! })));
    },
    get mayBeUp() { return mayBeUp; },
  };
}
