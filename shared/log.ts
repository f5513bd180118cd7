// pino JSON logging for both tiers: one logger per process, redaction of
// credentials wherever headers or queries could appear. The access line
// itself is serialized by access-log.ts into this logger's destination.
import pino, { type Logger, type DestinationStream } from 'pino';
import { LineBuffer } from './log-buffer.js';

export type Tier = 'edge' | 'router' | 'dev' | 'backend';

/** Credentials never reach a log line, whatever object they arrive in. */
const REDACT = [
  'authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization',
  'headers.authorization', 'headers.cookie', 'headers["set-cookie"]', 'headers["x-api-key"]', 'headers["proxy-authorization"]',
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
];

/** fields: more of what every line carries (a worker's slot). */
export function createLogger(tier: Tier, level: string, destination?: DestinationStream, fields?: Readonly<Record<string, unknown>>): Logger {
  return pino({
    level,
    base: { tier, ...fields },
    redact: { paths: REDACT, censor: '[Redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, destination ?? stdout());
}

/**
 * Access lines are batched (4 KiB or 100 ms, whichever comes first) rather
 * than written one syscall each: per-line writev was the largest single cost
 * in a profile of both tiers. The batch is written synchronously: async
 * writes went through the libuv thread pool and, under load, left the
 * process's RSS growing by about 20 MB per 50,000 requests (bench/), while a
 * synchronous 4 KiB write costs less CPU. A full stdout pipe then slows the
 * tier down instead of growing its memory. Whatever is buffered is written on
 * exit. The buffer is ours (log-buffer.ts says why).
 */
function stdout(): DestinationStream {
  const dest = new LineBuffer(1);
  process.once('exit', () => { try { dest.flushSync(); } catch { /* stdout already gone */ } });
  return dest;
}
