// Registers this router instance in Consul with an HTTP check on its
// readiness endpoint, so edges find routers the way routers find backends and
// routers scale out with no edge change. Deregisters first on shutdown, so
// edges stop sending before the drain begins. A Consul outage never stops
// the router from serving: registration is retried in the background.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Type, type Static } from '@sinclair/typebox';
import { consulClient } from '../shared/discovery/directory.js';
import { isUnspecified, primaryAddress } from '../shared/net.js';
import type { ConsulConfig } from '../shared/config/schema.js';

export const RegistrationSchema = Type.Object({
  service: Type.String({ minLength: 1, default: 'gatehouse-router' }),
  advertiseAddress: Type.Optional(Type.String({ minLength: 1, description: 'the address edges use; default: the listen host' })),
  tags: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  checkIntervalSeconds: Type.Integer({ minimum: 1, default: 2 }),
  deregisterCriticalAfterSeconds: Type.Integer({ minimum: 60, default: 300 }),
  drainDelayMs: Type.Integer({ minimum: 0, default: 1_000, description: 'after deregistering, keep serving this long so every edge has seen it before listeners close' }),
}, { additionalProperties: false });

export type RegistrationConfig = Static<typeof RegistrationSchema>;

const RETRY_MS = 5_000;

export class Registration {
  private readonly consul;
  private id = '';
  private timer: NodeJS.Timeout | undefined;
  private registered = false;

  constructor(private readonly config: RegistrationConfig, consul: ConsulConfig, private readonly log: Logger) {
    this.consul = consulClient(consul);
  }

  /**
   * Registers (and keeps retrying in the background until it succeeds). The check starts in the state
   * readyNow() gives: Consul would otherwise hold a ready instance critical until its first check, up to
   * a whole interval later, and edges would not send it traffic until then.
   */
  start(address: string, port: number, readyUrl: string, readyNow: () => boolean): void {
    const advertise = this.config.advertiseAddress ?? (isUnspecified(address) ? primaryAddress() : address);
    // Consul's check runs elsewhere: an admin listener on every interface is reached at the advertised address.
    const check = new URL(readyUrl);
    if (isUnspecified(check.hostname)) check.hostname = advertise;
    this.id = `${this.config.service}-${hostname()}-${advertise}-${port}`;
    const attempt = () => {
      this.consul.agent.service.register({
        name: this.config.service,
        id: this.id,
        address: advertise,
        port,
        tags: this.config.tags,
        meta: { 'gatehouse-tier': 'router' },
        check: { http: check.toString(), interval: `${this.config.checkIntervalSeconds}s`, timeout: '2s', deregistercriticalserviceafter: `${this.config.deregisterCriticalAfterSeconds}s`, status: readyNow() ? 'passing' : 'critical' },
      } as never).then(() => {
        this.registered = true;
        this.log.info({ event: 'consul-registered', service: this.config.service, id: this.id, address: advertise, port }, 'registered in Consul');
      }, (err: Error) => {
        this.log.warn({ event: 'consul-register-failed', err: err.message }, `Consul registration failed; retrying in ${RETRY_MS / 1000} s`);
        this.timer = setTimeout(attempt, RETRY_MS);
        this.timer.unref();
      });
    };
    attempt();
  }

  /** Deregisters, bounded in time: a shutdown never waits long on Consul. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    if (this.registered) {
      await Promise.race([
        this.consul.agent.service.deregister(this.id).then(
          () => this.log.info({ event: 'consul-deregistered', id: this.id }, 'deregistered from Consul'),
          (err: Error) => this.log.warn({ event: 'consul-deregister-failed', err: err.message }, 'Consul deregistration failed; its check will fail instead'),
        ),
        new Promise((r) => setTimeout(r, 2_000).unref()),
      ]);
      // Edges learn of the change through blocking queries within milliseconds; this covers the slow ones.
      await new Promise((r) => setTimeout(r, this.config.drainDelayMs));
    }
    this.consul.destroy();
  }

  status(): { ok: true; registered: boolean; id: string } {
    return { ok: true, registered: this.registered, id: this.id };
  }
}
