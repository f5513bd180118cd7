// Keeps one process registered in its local Consul agent (a router, the demo
// backend): registers with an HTTP check, re-registers whenever the agent has
// forgotten it (Consul recreated, agent state wiped), deregisters on shutdown.
// A Consul outage never stops the process from serving, and never crashes it.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { SelfRegistrationConfig } from './self-registration-schema.js';
import { consulClient } from './directory.js';
import { isUnspecified, primaryAddress } from '../net.js';
import type { ConsulConfig } from '../config/schema.js';

export { selfRegistrationSchema, type SelfRegistrationConfig } from './self-registration-schema.js';

/** What is registered: where the process listens and how Consul checks it. */
export interface RegistrationTarget {
  readonly listenHost: string;
  readonly port: number;
  /** The URL Consul's check fetches; an unspecified host in it becomes the advertised address. */
  readonly checkUrl: string;
  /** The check's initial state, so a ready process is passing from its registration on. */
  readonly ready: () => boolean;
  readonly meta?: Readonly<Record<string, string>>;
}

/** The meta key naming a gateway instance's admin listener: how a dashboard finds every edge and router. */
export const ADMIN_META = 'gatehouse-admin';

/**
 * A gateway tier as Consul sees it: checked through its admin /ready, its tier and admin listener in its
 * meta (the admin URL's unspecified host becomes the advertised address, like the check's).
 */
export function tierTarget(tier: 'edge' | 'router', listenHost: string, port: number, adminUrl: string, ready: () => boolean): RegistrationTarget {
  return { listenHost, port, checkUrl: `${adminUrl}/ready`, ready, meta: { 'gatehouse-tier': tier, [ADMIN_META]: adminUrl } };
}

// A failed call is retried from this delay, doubling, up to the anti-entropy period.
const RETRY_MIN_MS = 500;
// A shutdown or a check never waits longer than this on Consul.
const CALL_TIMEOUT_MS = 2_000;

export class SelfRegistration {
  private readonly consul;
  private id = '';
  private timer: NodeJS.Timeout | undefined;
  /** The agent has accepted the registration at least once. */
  private registered = false;
  private failures = 0;
  private stopped = false;
  private registerRequest: Record<string, unknown> | undefined;
  /** The round in progress, which stop() lets finish so a registration it makes is also removed. */
  private round: Promise<unknown> = Promise.resolve();

  constructor(private readonly config: SelfRegistrationConfig, consul: Pick<ConsulConfig, 'address' | 'token'>, private readonly log: Logger) {
    this.consul = consulClient(consul);
  }

  /** Registers now (retried in the background until it succeeds), then keeps the registration there. */
  start(target: RegistrationTarget): void {
    const advertise = this.config.advertiseAddress ?? (isUnspecified(target.listenHost) ? primaryAddress() : target.listenHost);
    // Consul's check runs elsewhere: a listener on every interface is reached at the advertised address.
    const reachable = (url: string) => {
      const u = new URL(url);
      if (isUnspecified(u.hostname)) u.hostname = advertise;
      return u.toString().replace(/\/$/, '');
    };
    const check = reachable(target.checkUrl);
    const meta = Object.fromEntries(Object.entries(target.meta ?? {}).map(([k, v]) => [k, k === ADMIN_META ? reachable(v) : v]));
    this.id = `${this.config.service}-${hostname()}-${advertise}-${target.port}`;
    const c = this.config;
    this.registerRequest = {
      name: c.service, id: this.id, address: advertise, port: target.port, tags: c.tags, meta,
      check: { http: check, interval: `${c.checkIntervalSeconds}s`, timeout: '2s', deregistercriticalserviceafter: `${c.deregisterCriticalAfterSeconds}s` },
      timeout: CALL_TIMEOUT_MS,
    };
    const ready = target.ready;
    const tick = () => { this.round = this.reconcile(ready).then((delayMs) => this.schedule(tick, delayMs)); };
    tick();
  }

  /** Deregisters, bounded in time: a shutdown never waits long on Consul. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.race([this.round, sleep(CALL_TIMEOUT_MS)]);
    if (this.registered) {
      await this.consul.agent.service.deregister({ id: this.id, timeout: CALL_TIMEOUT_MS } as never).then(
        () => this.log.info({ event: 'consul-deregistered', id: this.id }, 'deregistered from Consul'),
        (err: Error) => this.log.warn({ event: 'consul-deregister-failed', id: this.id, err: err.message }, 'Consul deregistration failed; its check will fail instead'),
      );
    }
    this.consul.destroy();
  }

  status(): { ok: true; registered: boolean; id: string } {
    return { ok: true, registered: this.registered, id: this.id };
  }

  /** One anti-entropy round: register if the agent does not hold us. Returns the delay to the next round. */
  private async reconcile(ready: () => boolean): Promise<number> {
    const periodMs = this.config.antiEntropySeconds * 1000;
    try {
      if (this.registered && await this.held()) return this.recovered(periodMs);
      // The check starts in the state readiness gives: Consul would otherwise hold a ready instance
      // critical until its first check, up to a whole interval later, and send it no traffic until then.
      const request = this.registerRequest!;
      await this.consul.agent.service.register({ ...request, check: { ...(request.check as object), status: ready() ? 'passing' : 'critical' } } as never);
      const again = this.registered;
      this.registered = true;
      const fields = { service: this.config.service, id: this.id, address: request.address, port: request.port };
      if (again) this.log.info({ event: 'consul-reregistered', ...fields }, 'Consul had forgotten this instance; registered again');
      else this.log.info({ event: 'consul-registered', ...fields }, 'registered in Consul');
      return this.recovered(periodMs);
    } catch (err) {
      this.failures++;
      // Once per outage: the retries that follow are silent until Consul answers again.
      if (this.failures === 1) this.log.warn({ event: 'consul-register-failed', id: this.id, err: (err as Error).message }, 'Consul unreachable for registration; retrying in the background');
      return Math.min(periodMs, RETRY_MIN_MS * 2 ** (this.failures - 1)) * (0.5 + Math.random() / 2);
    }
  }

  private recovered(periodMs: number): number {
    if (this.failures > 0) this.log.info({ event: 'consul-register-recovered', id: this.id, failures: this.failures }, 'Consul reachable again for registration');
    this.failures = 0;
    return periodMs;
  }

  /** Whether the local agent still holds this registration: one cheap filtered read, no blocking. */
  private async held(): Promise<boolean> {
    const services = await this.consul.agent.service.list({ filter: `ID == ${JSON.stringify(this.id)}`, timeout: CALL_TIMEOUT_MS } as never) as Record<string, unknown>;
    return Object.keys(services ?? {}).length > 0;
  }

  private schedule(tick: () => void, delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(tick, delayMs);
    this.timer.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
