// Turns one entry of Consul's health answer into an Instance, or names the
// field that makes it unusable. Consul stores much of what it is given (an
// address "not a host/x", port 70000 or -5), and the answer may not come from
// Consul at all: no field is trusted for its type, range or syntax.
import { isIP } from 'node:net';
import { originOf, type Instance } from './instance.js';

/** A field of an entry that was refused (the instance is skipped) or ignored (kept without it). */
export interface InstanceProblem {
  /** The instance's Service.ID, or (when that is unusable) what can be told of it. */
  readonly id: string;
  readonly field: string;
  /** The offending value, JSON, cut short: it is only for the log line. */
  readonly value: string;
  readonly action: 'skipped' | 'ignored';
}

export type ParsedEntry = { readonly instance: Instance; readonly ignored?: InstanceProblem } | { readonly skipped: InstanceProblem };

// Consul's own bounds for what it validates at registration (Weights, service meta); an answer past
// them was not made by Consul.
const MAX_WEIGHT = 65_535;
const MAX_META_PAIRS = 64;
const META_KEY = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_META_VALUE = 512;
const MAX_ID = 256;
const CONTROL = /[\x00-\x1f\x7f]/;
// Letters, digits, '-' and '_' (which Node's URL parser and many internal zones accept), dot-separated.
const HOST_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const NUMERIC_LABEL = /^(\d+|0x[0-9a-f]*)$/i;
const WEIGHT_TEXT = /^\d{1,5}$/;

export function parseEntry(entry: unknown): ParsedEntry {
  if (!isRecord(entry) || !isRecord(entry.Service)) return skip('(no Service)', 'Service', isRecord(entry) ? entry.Service : entry);
  const svc = entry.Service;
  const rawId = present(svc.ID) ? svc.ID : undefined;
  if (rawId !== undefined && !isPrintable(rawId)) return skip('(bad Service.ID)', 'Service.ID', rawId);
  const id = rawId as string | undefined;
  const name = id ?? '(no Service.ID)';
  // Consul leaves Service.Address empty when the service runs at its node's address.
  const [hostField, host] = present(svc.Address) ? ['Service.Address', svc.Address] : ['Node.Address', isRecord(entry.Node) ? entry.Node.Address : undefined];
  if (typeof host !== 'string' || !isHostAddress(host)) return skip(name, hostField, host);
  const port = svc.Port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) return skip(name, 'Service.Port', port);
  const passing = passingWeight(svc.Weights);
  if (passing === undefined) return skip(name, 'Service.Weights', svc.Weights);
  if (present(svc.Tags) && !(Array.isArray(svc.Tags) && svc.Tags.every((t) => typeof t === 'string'))) return skip(name, 'Service.Tags', svc.Tags);
  const meta = svc.Meta ?? {};
  const badMeta = metaProblem(meta);
  if (badMeta !== undefined) return skip(name, badMeta[0], badMeta[1]);
  const m = meta as Record<string, string>;
  const scheme = m['gatehouse-scheme'] ?? 'http';
  if (scheme !== 'http' && scheme !== 'https') return skip(name, 'Service.Meta.gatehouse-scheme', scheme);
  const origin = originOf(scheme, host, port);
  const instance: Instance = { id: id ?? `${host}:${port}`, origin, authority: origin.slice(scheme.length + 3), weight: passing, meta: m };
  return withMetaWeight(instance, m['gatehouse-weight']);
}

/**
 * Meta gatehouse-weight wins over Weights.Passing (it can be changed without re-registering). A bad
 * one is an operator's typo, not a bad instance: the instance keeps Consul's weight, and the log says so.
 */
function withMetaWeight(instance: Instance, text: string | undefined): ParsedEntry {
  if (text === undefined) return { instance };
  const weight = WEIGHT_TEXT.test(text) ? Number(text) : NaN;
  if (weight <= MAX_WEIGHT) return { instance: { ...instance, weight } };
  return { instance, ignored: { id: instance.id, field: 'Service.Meta.gatehouse-weight', value: show(text), action: 'ignored' } };
}

/** An IP literal (no zone id) or a DNS host name; never a port, a path, credentials or spaces. */
export function isHostAddress(host: string): boolean {
  if (host.length > 253) return false;
  if (isIP(host) !== 0) return !host.includes('%');
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  // A numeric last label makes URL parsers read the whole name as an IPv4 number (10.1 is 10.0.0.1).
  return labels.every((l) => HOST_LABEL.test(l)) && !NUMERIC_LABEL.test(labels[labels.length - 1]!);
}

/** Absent means Consul's default, 1; present, an integer Consul itself would accept. */
function passingWeight(weights: unknown): number | undefined {
  if (weights === undefined || weights === null) return 1;
  if (!isRecord(weights)) return undefined;
  const p = weights.Passing;
  if (p === undefined || p === null) return 1;
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= MAX_WEIGHT ? p : undefined;
}

function metaProblem(meta: unknown): [string, unknown] | undefined {
  if (!isRecord(meta)) return ['Service.Meta', meta];
  const keys = Object.keys(meta);
  if (keys.length > MAX_META_PAIRS) return ['Service.Meta', `${keys.length} pairs`];
  for (const k of keys) {
    if (!META_KEY.test(k)) return ['Service.Meta', k];
    const v = meta[k];
    if (typeof v !== 'string' || v.length > MAX_META_VALUE) return [`Service.Meta.${k}`, v];
  }
  return undefined;
}

function skip(id: string, field: string, value: unknown): ParsedEntry {
  return { skipped: { id, field, value: show(value), action: 'skipped' } };
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function isPrintable(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_ID && !CONTROL.test(v);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
