// Captures a tier's pino output as parsed records, so tests assert on the
// log lines an operator would read.
import { Writable } from 'node:stream';

export type LogRecord = Record<string, unknown>;

export class LogCapture extends Writable {
  readonly records: LogRecord[] = [];
  private partial = '';

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const text = this.partial + chunk.toString();
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) if (line) this.records.push(JSON.parse(line) as LogRecord);
    done();
  }

  access(): LogRecord[] {
    return this.records.filter((r) => r.event === 'access');
  }

  /** The raw text as written, to prove what never appears in it. */
  text(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n');
  }
}

/** Every line written to it, as text: for what must be compared byte for byte (the access line). */
export class Lines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  }
}
