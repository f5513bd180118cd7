// What discovery yields and balancing consumes: one reachable instance of a service.
export interface Instance {
  /** Stable id (Consul service id, or the origin for static lists). */
  readonly id: string;
  /** scheme://host:port, the key of its connection pool. */
  readonly origin: string;
  /** host:port of the origin, sent as Host when the hop does not preserve the client's. */
  readonly authority: string;
  readonly weight: number;
  readonly meta: Readonly<Record<string, string>>;
}

/** Where a service's current instances come from; built once per service. */
export interface InstanceSource {
  /** The healthy instances now, or undefined until the first successful lookup. */
  readonly current: readonly Instance[] | undefined;
  readonly status: SourceStatus;
  close(): void;
}

export interface SourceStatus {
  readonly kind: 'static' | 'consul';
  readonly resolved: boolean;
  readonly instances: number;
  readonly lastError?: string;
  readonly lastChangeAt?: string;
  /** Set while the instances come from the on-disk snapshot, before Consul has answered. */
  readonly from?: 'snapshot';
}

export function originOf(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
