// Affinity by ctx.hashKey: a hash ring (as Envoy's ring_hash) and Google's
// Maglev table, so one key keeps reaching one instance. They must never move
// more keys than the instances that joined or left own (about 1/N each).
import type { Instance } from '../discovery/instance.js';
import type { Balancer, PickContext } from './balancer.js';
import { WeightedRoundRobin, weightsOf } from './weighted.js';

/** 32-bit FNV-1a over UTF-16 code units, then murmur3's finaliser: FNV-1a alone leaves names
 * that differ only at the end (vnode names, sequential ids) close together on the ring. */
export function hash32(s: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** What both share: a table of owners (indices into instances) built once per array, a key's
 * start in it, and on a retry a walk to the next owner not excluded. Without a hashKey there is
 * no affinity to keep, so they fall back to weighted round robin (spread, drains obeyed). */
abstract class KeyedBalancer implements Balancer {
  private readonly fallback = new WeightedRoundRobin();
  private last: readonly Instance[] | undefined;
  private weights: Int32Array = new Int32Array(0);
  private owners: Uint32Array = new Uint32Array(0);

  pick(instances: readonly Instance[], ctx?: PickContext): Instance | undefined {
    if (ctx?.hashKey === undefined) return this.fallback.pick(instances, ctx);
    if (instances.length === 0) return undefined;
    if (instances !== this.last) { // a new discovery answer: rebuild once, not per pick
      this.last = instances;
      this.weights = weightsOf(instances);
      this.owners = this.build(instances, this.weights);
    }
    const exclude = ctx.exclude;
    // Every weighted instance owns entries, so with one left the walk ends soon, not after all.
    if (exclude !== undefined && exclude.size > 0 && !this.anyLeft(instances, exclude)) return undefined;
    const owners = this.owners;
    let at = this.start(hash32(ctx.hashKey));
    for (let k = 0; k < owners.length; k++) {
      const candidate = instances[owners[at]!]!;
      if (exclude === undefined || !exclude.has(candidate.id)) return candidate;
      at = at + 1 === owners.length ? 0 : at + 1;
    }
    return undefined;
  }

  /** The owner table of these instances; an instance of weight 0 owns nothing. */
  protected abstract build(instances: readonly Instance[], weights: Int32Array): Uint32Array;
  /** Where a key's hash lands in the table built last. */
  protected abstract start(hash: number): number;

  private anyLeft(instances: readonly Instance[], exclude: ReadonlySet<string>): boolean {
    for (let i = 0; i < instances.length; i++) if (this.weights[i]! > 0 && !exclude.has(instances[i]!.id)) return true;
    return false;
  }
}

/** virtualNodes: points per unit of weight, default 160; more, a more even split and a bigger ring. */
export interface RingHashOptions { readonly virtualNodes?: number }

const OWNER_BITS = 2 ** 21; // room for 2M instances below a 32-bit hash in a double's 53 bits

export class RingHash extends KeyedBalancer {
  private readonly virtualNodes: number;
  private points: Uint32Array = new Uint32Array(0);

  constructor(options: RingHashOptions = {}) {
    super();
    this.virtualNodes = options.virtualNodes ?? 160;
  }

  protected build(instances: readonly Instance[], weights: Int32Array): Uint32Array {
    const total = weights.reduce((sum, w) => sum + w * this.virtualNodes, 0);
    // Point and owner packed in one number, so a plain typed-array sort orders both.
    const packed = new Float64Array(total);
    let p = 0;
    for (let i = 0; i < instances.length; i++) {
      // Named by id and ordinal, so an instance's points do not depend on the others.
      for (let v = 0; v < weights[i]! * this.virtualNodes; v++) packed[p++] = hash32(`${instances[i]!.id}_${v}`) * OWNER_BITS + i;
    }
    packed.sort();
    this.points = new Uint32Array(total);
    const owners = new Uint32Array(total);
    for (let k = 0; k < total; k++) {
      this.points[k] = Math.floor(packed[k]! / OWNER_BITS);
      owners[k] = packed[k]! % OWNER_BITS;
    }
    return owners;
  }

  /** The first point at or after the hash, wrapping past the top. */
  protected start(hash: number): number {
    const points = this.points;
    let lo = 0, hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1; else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  }
}

/** tableSize: slots, default 65,537; a prime well above 100 x the instance count (the paper's advice). */
export interface MaglevOptions { readonly tableSize?: number }

export class Maglev extends KeyedBalancer {
  private readonly size: number;

  constructor(options: MaglevOptions = {}) {
    super();
    this.size = options.tableSize ?? 65_537;
    // Prime, so every skip is coprime with it and each preference list visits every slot.
    let prime = Number.isInteger(this.size) && this.size > 2;
    for (let d = 2; prime && d * d <= this.size; d++) prime = this.size % d !== 0;
    if (!prime) throw new Error(`maglev table size ${this.size} is not a prime above 2`);
  }

  protected build(instances: readonly Instance[], weights: Int32Array): Uint32Array {
    const m = this.size, n = instances.length;
    const position = new Float64Array(n), skip = new Float64Array(n), credit = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      position[i] = hash32(instances[i]!.id) % m;
      skip[i] = (hash32(instances[i]!.id, 0x9747b28c) % (m - 1)) + 1;
    }
    const maxWeight = Math.max(...weights);
    const table = new Uint32Array(m).fill(0xffffffff);
    // Turns go in id order, not discovery's order, so every gateway builds the same table.
    const turns = Array.from(instances.keys()).sort((x, y) => (instances[x]!.id < instances[y]!.id ? -1 : 1));
    // Instances take turns claiming their next preferred free slot; with weights,
    // an instance takes a turn each time its credit reaches the top weight (Envoy's scheme).
    for (let filled = 0; filled < m;) {
      for (const i of turns) {
        if (filled === m || (credit[i]! += weights[i]!) < maxWeight) continue;
        credit[i]! -= maxWeight;
        // Adds and a compare, not %: this loop runs about m ln m times per build.
        let c = position[i]!;
        const step = skip[i]!;
        while (table[c] !== 0xffffffff) if ((c += step) >= m) c -= m;
        table[c] = i;
        filled++;
        position[i] = c + step >= m ? c + step - m : c + step;
      }
    }
    return table;
  }

  protected start(hash: number): number { return hash % this.size; }
}
