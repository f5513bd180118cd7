// Validates candidate configs in one worker thread (candidate-worker.ts), started at the first reload and
// kept for the next; the serving thread only freezes the answer. The entry point names the loader module
// (config/load.js), since shared/ never imports the composed schema.
import { Worker } from 'node:worker_threads';
import { ConfigError, deepFreeze } from './load.js';

export interface CandidateRequest { readonly id: number; readonly text: string; readonly file: string; readonly baseDir: string }
export type CandidateAnswer =
  | { readonly id: number; readonly ok: true; readonly config: unknown }
  | { readonly id: number; readonly ok: false; readonly problems: readonly string[] };

/**
 * The validator's own heap: a young generation of 3 MB instead of the process's (Node 24 gives a worker the
 * main thread's sizing, up to 64 MB of semi-spaces on a large host). Validating a config makes little
 * garbage; measured on the bare bench chain, the warmed worker cost each idle tier about 25 MB more RSS
 * without this. A candidate too large for the old generation's default still kills only the worker (below).
 */
const VALIDATOR_LIMITS = { maxYoungGenerationSizeMb: 3 };

interface Pending { readonly file: string; resolve(config: unknown): void; reject(err: Error): void }

export class CandidateValidator<C> {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly loader: URL) {}

  /** The candidate, validated and frozen; rejects with a ConfigError naming file, line and field. */
  validate(text: string, file: string, baseDir: string): Promise<Readonly<C>> {
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { file, resolve, reject });
      this.started().postMessage({ id, text, file, baseDir } satisfies CandidateRequest);
    }).then((config) => deepFreeze(config as C));
  }

  /**
   * Starts the worker now, so the first reload does not pay for loading and compiling the schema; given the
   * document the tier started from, also validates it once there (the outcome is dropped): the first
   * validation of a worker runs cold code, several times slower than the next, and it would be a reload's.
   * Resolves when that validation is done.
   */
  warm(sample?: { readonly text: string; readonly file: string; readonly baseDir: string }): Promise<void> {
    this.started();
    if (!sample) return Promise.resolve();
    return this.validate(sample.text, sample.file, sample.baseDir).then(() => undefined, () => undefined); // a warm-up: only the time matters
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./candidate-worker.js', import.meta.url), { workerData: { loader: this.loader.href }, resourceLimits: VALIDATOR_LIMITS });
    worker.unref(); // an idle validator never keeps the process alive
    worker.on('message', (a: CandidateAnswer) => this.answered(a));
    // A worker that dies (out of memory on a huge candidate) fails what it held; the next reload starts another.
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => { if (this.worker === worker) this.worker = undefined; this.failAll(new Error('the config validator stopped')); });
    this.worker = worker;
    return worker;
  }

  private answered(a: CandidateAnswer): void {
    const p = this.pending.get(a.id);
    if (!p) return;
    this.pending.delete(a.id);
    if (a.ok) p.resolve(a.config);
    else p.reject(new ConfigError(p.file, a.problems));
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new ConfigError(p.file, [`cannot validate: ${err.message}`]));
    }
  }
}
