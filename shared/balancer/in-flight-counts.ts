// Requests in flight per key (an instance id, an origin). A counter object per
// key, so once a key is known a start or an end is one lookup and no insert;
// idle counters are dropped only by pruneIdle(), which owners call when the
// set of instances changes, so keys that left do not pile up.

export class InFlightCounts {
  private readonly counts = new Map<string, { n: number }>();

  get(key: string): number {
    return this.counts.get(key)?.n ?? 0;
  }

  /** Counts a start; returns the count before it. */
  start(key: string): number {
    const c = this.counts.get(key);
    if (c === undefined) {
      this.counts.set(key, { n: 1 });
      return 0;
    }
    return c.n++;
  }

  /** Counts an end; returns the count after it, or -1 for an end without a start seen (nothing to undo). */
  end(key: string): number {
    const c = this.counts.get(key);
    if (c === undefined || c.n === 0) return -1;
    return --c.n;
  }

  pruneIdle(): void {
    for (const [key, c] of this.counts) if (c.n === 0) this.counts.delete(key);
  }

  get size(): number {
    return this.counts.size;
  }
}
