// Environment overrides for connection settings: the one table of them, which
// README.md mirrors. Applied before validation, so an override is checked
// like any other field and a bad one names its variable.
export type Env = Readonly<Record<string, string | undefined>>;

interface Override {
  readonly name: string;
  readonly path: readonly string[];
  readonly kind: 'string' | 'port' | 'origin-list';
  readonly doc: string;
}

export const ENV_OVERRIDES: readonly Override[] = [
  { name: 'GATEHOUSE_REDIS_URL', path: ['redis', 'url'], kind: 'string', doc: 'Redis URL (redis:// or rediss://)' },
  { name: 'GATEHOUSE_CONSUL_ADDR', path: ['consul', 'address'], kind: 'string', doc: 'Consul HTTP address, e.g. http://127.0.0.1:8500' },
  { name: 'GATEHOUSE_CONSUL_TOKEN', path: ['consul', 'token'], kind: 'string', doc: 'Consul ACL token' },
  { name: 'GATEHOUSE_EDGE_HOST', path: ['edge', 'listen', 'host'], kind: 'string', doc: 'edge HTTPS listen address' },
  { name: 'GATEHOUSE_EDGE_PORT', path: ['edge', 'listen', 'port'], kind: 'port', doc: 'edge HTTPS port' },
  { name: 'GATEHOUSE_EDGE_ADMIN_PORT', path: ['edge', 'admin', 'port'], kind: 'port', doc: 'edge health/admin port' },
  { name: 'GATEHOUSE_ROUTER_URLS', path: ['edge', 'router'], kind: 'origin-list', doc: 'comma-separated static router origins (replaces edge.router)' },
  { name: 'GATEHOUSE_ROUTER_HOST', path: ['router', 'listen', 'host'], kind: 'string', doc: 'router listen address' },
  { name: 'GATEHOUSE_ROUTER_PORT', path: ['router', 'listen', 'port'], kind: 'port', doc: 'router port' },
  { name: 'GATEHOUSE_ROUTER_ADMIN_PORT', path: ['router', 'admin', 'port'], kind: 'port', doc: 'router health/admin port' },
  { name: 'GATEHOUSE_LOG_LEVEL', path: ['log', 'level'], kind: 'string', doc: 'fatal, error, warn, info, debug, trace or silent' },
];

/** The config file path: --config wins, then GATEHOUSE_CONFIG, then the default. */
export function configPath(argv: readonly string[], env: Env, fallback: string): string {
  const i = argv.indexOf('--config');
  if (i >= 0 && argv[i + 1]) return argv[i + 1]!;
  return env.GATEHOUSE_CONFIG || fallback;
}

export function applyEnvOverrides(raw: unknown, env: Env, problems: string[]): unknown {
  const root = (raw && typeof raw === 'object' ? structuredClone(raw) : {}) as Record<string, unknown>;
  for (const o of ENV_OVERRIDES) {
    const text = env[o.name];
    if (text === undefined || text === '') continue;
    const value = convert(o, text);
    if (value === undefined) {
      problems.push(`environment ${o.name}=${JSON.stringify(text)}: expected ${o.doc}`);
      continue;
    }
    setIn(root, o.path, value);
  }
  return root;
}

function convert(o: Override, text: string): unknown {
  switch (o.kind) {
    case 'string': return text;
    case 'port': return /^\d{1,5}$/.test(text) && Number(text) <= 65535 ? Number(text) : undefined;
    case 'origin-list': return { static: text.split(',').map((s) => s.trim()).filter(Boolean) };
  }
}

function setIn(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
