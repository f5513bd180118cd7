// The tiers' stdout: log lines batched in one reused byte buffer and written
// synchronously, up to 4 KiB or 100 ms at a time (see log.ts for why synchronous and
// batched), whole lines only. Ours instead of pino's sonic-boom because of what a line cost on
// the way there: sonic-boom appends each line to a string (a rope it later
// flattens, measures with Buffer.byteLength and converts to a Buffer to
// write), and the access line, built by concatenation, was a rope of its own.
// bench:alloc measured about 4.5 KB allocated per request per tier on that
// path (logAccess, byteLength, sonic-boom's write, fs.writeSync's
// conversion). Here pino's lines are encoded straight into the buffer, and
// the access line is written into it field by field (access-log.ts), so a
// request's line allocates nothing. Every line goes through the one buffer,
// so lines stay in the order they were logged.
import { writeSync } from 'node:fs';

const SIZE = 64 * 1024;
// Linux writes up to PIPE_BUF (4 KiB) to a pipe in one piece: several workers (shared/workers/) share one
// stdout, so a write never passes it unless a single line does, and a line is never split between writes.
const PIPE_BUF = 4096;
const FLUSH_MS = 100;
/** The most bytes one UTF-16 code unit takes in UTF-8. */
const UTF8_PER_UNIT = 3;
// A full non-blocking pipe answers EAGAIN: wait a moment and write again, as sonic-boom does.
const EAGAIN_WAIT_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class LineBuffer {
  private readonly buf = Buffer.allocUnsafe(SIZE);
  private len = 0;
  /** Where the line being written starts. */
  private lineStart = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushLater = () => {
    this.timer = undefined;
    this.flushSync();
  };

  constructor(private readonly fd: number) {}

  /** pino's lines (and any whole line). */
  write(line: string): boolean {
    if (!this.room(line.length * UTF8_PER_UNIT)) {
      writeAll(this.fd, Buffer.from(line));
      return true;
    }
    this.len += this.buf.write(line, this.len, 'utf8');
    this.lineDone();
    return true;
  }

  /**
   * Makes room for a line of at most `bytes`: false when no line that long fits even in an empty buffer (the
   * caller writes it as one string instead). Between room() and lineDone() the caller writes with ascii/utf8.
   */
  room(bytes: number): boolean {
    if (bytes > SIZE) {
      this.flushSync();
      return false;
    }
    if (this.len + bytes > SIZE) this.flushSync();
    this.lineStart = this.len;
    return true;
  }

  /** Text known to be printable ASCII (field names, numbers, ids): one byte a character, no encoding. */
  ascii(text: string): void {
    this.len += this.buf.write(text, this.len, 'latin1');
  }

  utf8(text: string): void {
    this.len += this.buf.write(text, this.len, 'utf8');
  }

  lineDone(): void {
    if (this.len > PIPE_BUF && this.lineStart > 0) {
      // The lines before this one fill a pipe write: they go, this one starts the next batch.
      writeAll(this.fd, this.buf.subarray(0, this.lineStart));
      this.buf.copyWithin(0, this.lineStart, this.len);
      this.len -= this.lineStart;
      this.lineStart = 0;
    }
    if (this.len >= PIPE_BUF) this.flushSync();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.flushLater, FLUSH_MS);
      this.timer.unref();
    }
  }

  flushSync(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.len === 0) return;
    writeAll(this.fd, this.buf.subarray(0, this.len));
    this.len = 0;
    this.lineStart = 0;
  }

  /** pino's logger.flush(). */
  flush(done?: (err?: Error) => void): void {
    this.flushSync();
    done?.();
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (err) {
      // stdout gone (EPIPE, EBADF): logging never takes the gateway down with it; what could not be written is lost.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      Atomics.wait(sleeper, 0, 0, EAGAIN_WAIT_MS);
    }
  }
}
