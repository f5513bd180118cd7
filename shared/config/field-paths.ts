// Which fields differ between two configs, and a config with some fields held at another's values. A live
// reload uses both: fields a running listener read at start (ports, TLS, server timeouts) cannot change
// without a restart, so they are reported and held at their running values, never silently half-applied.
import { isDeepStrictEqual } from 'node:util';

export type FieldPath = readonly string[];

const at = (value: unknown, path: FieldPath): unknown =>
  path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);

/** The dotted names of the paths whose values differ between a and b (absent and absent are equal). */
export function changedPaths(a: unknown, b: unknown, paths: readonly FieldPath[]): string[] {
  return paths.filter((p) => !isDeepStrictEqual(at(a, p), at(b, p))).map((p) => p.join('.'));
}

/**
 * next with each path's value taken from held; objects along a changed path are copied, the rest shared.
 * A value held as absent is removed. The result is frozen like a loaded config.
 */
export function holdPaths<T>(next: T, held: T, paths: readonly FieldPath[]): T {
  let out: unknown = next;
  for (const p of paths) if (!isDeepStrictEqual(at(out, p), at(held, p))) out = setAt(out, p, at(held, p));
  return out as T;
}

function setAt(target: unknown, path: FieldPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [key, ...rest] = path as [string, ...string[]];
  const base = target !== null && typeof target === 'object' ? (target as Record<string, unknown>) : {};
  const copy: Record<string, unknown> = { ...base };
  const child = setAt(base[key], rest, value);
  if (child === undefined) delete copy[key];
  else copy[key] = child;
  return Object.freeze(copy);
}
