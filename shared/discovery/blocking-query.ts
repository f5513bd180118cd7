// The loop every Consul blocking query of ours runs: ask with the last index, never faster than MIN_LOOP_MS,
// and after a failure start again from index 0 after a jittered backoff. Subclasses say what one poll asks and
// what a failure or a recovery means to them; the loop itself never logs.
export const MIN_LOOP_MS = 50; // Consul may answer a blocking query at once with no change
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 15_000;

export abstract class BlockingQuery {
  /** The X-Consul-Index of the last answer: the next query blocks until the data moves past it. */
  protected index = 0;
  /** Failed queries in a row. */
  protected failures = 0;
  protected lastError: string | undefined;
  protected closed = false;

  /** One query, awaited; throws when Consul did not answer usably. */
  protected abstract poll(): Promise<void>;

  /** After each failed query; failures counts them in a row. */
  protected abstract failed(message: string, failures: number): void;

  /** At the first answer after failures. */
  protected recovered(_failures: number): void {}

  protected async loop(): Promise<void> {
    while (!this.closed) {
      const started = Date.now();
      try {
        await this.poll();
        if (this.failures > 0) this.recovered(this.failures);
        this.failures = 0;
        this.lastError = undefined;
        await sleep(Math.max(0, MIN_LOOP_MS - (Date.now() - started)));
      } catch (err) {
        if (this.closed) return;
        this.failures++;
        // The next answer may come from another server, or from a Consul recreated with its index
        // restarted lower: a blocking query on the old index would then wait out the whole waitSeconds.
        this.index = 0;
        this.lastError = (err as Error).message;
        this.failed(this.lastError, this.failures);
        await sleep(jitteredBackoff(this.failures));
      }
    }
  }
}

/** The pause after the nth failure in a row: doubling from 250 ms to 15 s, at random in its upper half so that many instances do not retry in step. */
export function jitteredBackoff(failures: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 10));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** A timer that never keeps the process alive. */
export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms).unref());
}
