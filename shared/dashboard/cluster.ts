// The whole system as the dashboard shows it (GET /admin/cluster): this instance's snapshot, every other
// edge and router it can find (the admin listener's peers, and the gateway's own registrations in Consul,
// which carry their admin URL in meta gatehouse-admin), and Consul's own verdict on each instance of the
// services the routers discover there, failing ones included: a router lists only passing instances, so
// an instance whose check fails would otherwise just vanish from view.
//
// Peers are asked with this instance's admin token, so only URLs the operator controls are asked: the
// configured peers and the registrations of the gateway's own service names (who may register those
// already decides where edges send traffic). One refresh serves every viewer for a second.
import type Consul from 'consul';
import type { Logger } from 'pino';
import { consulClient } from '../discovery/directory.js';
import { ADMIN_META } from '../discovery/self-registration.js';
import type { ConsulConfig } from '../config/schema.js';
import type { InstanceSnapshot } from './snapshot.js';

export type CheckStatus = 'passing' | 'warning' | 'critical' | 'maintenance';

export interface ClusterMember {
  /** self: the instance answering; peer: from admin.peers; consul: a registration of the gateway's. */
  readonly source: 'self' | 'peer' | 'consul';
  readonly adminUrl: string | null;
  /** Consul's checks of a registered member, the worst one; null when not found in Consul. */
  readonly health: CheckStatus | null;
  readonly snapshot: InstanceSnapshot | null;
  /** Why the snapshot is missing (unreachable, refused the token, timed out). */
  readonly error: string | null;
}

export interface ConsulInstanceHealth {
  readonly id: string;
  readonly address: string;
  readonly status: CheckStatus;
  /** The output of the worst check, so the page says why. */
  readonly output: string;
}

export interface ClusterView {
  readonly generatedAt: string;
  readonly servedBy: string;
  readonly members: readonly ClusterMember[];
  /** Consul's state of each Consul-discovered service, by the gateway's service name; absent without Consul. */
  readonly health: Readonly<Record<string, readonly ConsulInstanceHealth[]>>;
  readonly consul: { readonly ok: boolean; readonly error?: string } | null;
}

export interface ClusterSources {
  /** The serving instance's snapshot id. */
  readonly id: string;
  readonly token: string;
  readonly peers: readonly string[];
  /** The gateway's own service names in Consul (edges' and routers'). */
  readonly gatewayServices: readonly string[];
  readonly consul: ConsulConfig | undefined;
  readonly log: Logger;
  self(): Promise<InstanceSnapshot>;
}

const PEER_TIMEOUT_MS = 1_500;
const CONSUL_TIMEOUT_MS = 2_000;
const FRESH_MS = 1_000;
const SEVERITY: readonly CheckStatus[] = ['passing', 'warning', 'maintenance', 'critical'];

interface ConsulEntry {
  readonly Node?: { readonly Address?: string };
  readonly Service?: { readonly ID?: string; readonly Address?: string; readonly Port?: number; readonly Tags?: readonly string[]; readonly Meta?: Record<string, string> };
  readonly Checks?: readonly { readonly Status?: string; readonly Output?: string }[];
}

export class Cluster {
  private readonly consul: Consul | undefined;
  private last: { at: number; view: Promise<ClusterView> } | undefined;

  constructor(private readonly s: ClusterSources) {
    this.consul = s.consul && consulClient(s.consul);
  }

  /** The view of the last second, or a new one; callers at the same moment share one refresh. */
  view(): Promise<ClusterView> {
    const now = Date.now();
    if (this.last === undefined || now - this.last.at >= FRESH_MS) this.last = { at: now, view: this.refresh() };
    return this.last.view;
  }

  close(): void {
    this.consul?.destroy();
  }

  private async refresh(): Promise<ClusterView> {
    const [self, registered] = await Promise.all([this.s.self(), this.registered()]);
    const candidates = new Map<string, { source: 'peer' | 'consul'; health: CheckStatus | null }>();
    for (const url of this.s.peers) candidates.set(origin(url), { source: 'peer', health: null });
    for (const r of registered.members) candidates.set(r.url, { source: candidates.get(r.url)?.source ?? 'consul', health: r.health });
    const others = await Promise.all([...candidates].map(([url, c]) => this.member(url, c.source, c.health)));
    const seen = new Set([this.s.id]);
    const members: ClusterMember[] = [{ source: 'self', adminUrl: null, health: null, snapshot: self, error: null }];
    for (const m of others) {
      const id = m.snapshot?.instance.id;
      if (id !== undefined && seen.has(id)) continue; // itself, or one instance under two URLs
      if (id !== undefined) seen.add(id);
      members.push(m);
    }
    const health = await this.serviceHealth(members);
    const consulError = registered.error ?? health.error;
    return {
      generatedAt: new Date().toISOString(),
      servedBy: this.s.id,
      members,
      health: health.byService,
      consul: this.consul === undefined ? null : consulError === undefined ? { ok: true } : { ok: false, error: consulError },
    };
  }

  private async member(adminUrl: string, source: 'peer' | 'consul', health: CheckStatus | null): Promise<ClusterMember> {
    try {
      const res = await fetch(`${adminUrl}/admin/snapshot`, { headers: { authorization: `Bearer ${this.s.token}` }, signal: AbortSignal.timeout(PEER_TIMEOUT_MS) });
      if (!res.ok) {
        await res.body?.cancel();
        return { source, adminUrl, health, snapshot: null, error: res.status === 401 ? 'refused this instance\'s admin token (401)' : `answered ${res.status}` };
      }
      return { source, adminUrl, health, snapshot: await res.json() as InstanceSnapshot, error: null };
    } catch (err) {
      return { source, adminUrl, health, snapshot: null, error: (err as Error).name === 'TimeoutError' ? `no answer within ${PEER_TIMEOUT_MS} ms` : `unreachable (${causeOf(err)})` };
    }
  }

  /** The gateway's own instances registered in Consul, with their admin URLs and check status. */
  private async registered(): Promise<{ members: { url: string; health: CheckStatus }[]; error?: string }> {
    if (this.consul === undefined) return { members: [] };
    try {
      const lists = await Promise.all(this.s.gatewayServices.map((name) => this.entries(name, undefined)));
      const members = lists.flat().flatMap((e) => {
        const url = e.Service?.Meta?.[ADMIN_META];
        return typeof url === 'string' && /^https?:\/\//.test(url) ? [{ url: origin(url), health: worst(e) }] : [];
      });
      return { members };
    } catch (err) {
      return { members: [], error: `Consul: ${causeOf(err)}` };
    }
  }

  /** Consul's checks of every instance of each Consul-discovered service some member routes to. */
  private async serviceHealth(members: readonly ClusterMember[]): Promise<{ byService: Record<string, ConsulInstanceHealth[]>; error?: string }> {
    const byService: Record<string, ConsulInstanceHealth[]> = {};
    if (this.consul === undefined) return { byService };
    const wanted = new Map<string, NonNullable<InstanceSnapshot['services'][number]['consul']>>();
    for (const m of members) for (const svc of m.snapshot?.services ?? []) if (svc.consul && !wanted.has(svc.name)) wanted.set(svc.name, svc.consul);
    try {
      await Promise.all([...wanted].map(async ([name, c]) => {
        const entries = await this.entries(c.service, c.datacenter);
        byService[name] = entries.filter((e) => c.tags.every((t) => e.Service?.Tags?.includes(t))).map(instanceHealth);
      }));
      return { byService };
    } catch (err) {
      return { byService, error: `Consul: ${causeOf(err)}` };
    }
  }

  private async entries(service: string, dc: string | undefined): Promise<ConsulEntry[]> {
    const body = await this.consul!.health.service({ service, stale: true, timeout: CONSUL_TIMEOUT_MS, ...(dc !== undefined && { dc }) } as never) as unknown;
    return Array.isArray(body) ? body as ConsulEntry[] : [];
  }
}

function instanceHealth(e: ConsulEntry): ConsulInstanceHealth {
  const svc = e.Service ?? {};
  const host = svc.Address || e.Node?.Address || '';
  const address = `${host.includes(':') ? `[${host}]` : host}:${svc.Port ?? 0}`;
  const checks = e.Checks ?? [];
  const status = worst(e);
  const output = checks.find((c) => c.Status === status)?.Output ?? '';
  return { id: svc.ID || address, address, status, output: output.slice(0, 300) };
}

function worst(e: ConsulEntry): CheckStatus {
  let rank = 0;
  for (const c of e.Checks ?? []) rank = Math.max(rank, SEVERITY.indexOf(c.Status as CheckStatus));
  return SEVERITY[rank]!;
}

function origin(url: string): string {
  return url.replace(/\/+$/, '');
}

function causeOf(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
