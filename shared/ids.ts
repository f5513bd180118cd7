// Random identifiers for requests, traces and spans. Hand-written because it
// runs several times per request: hex is cut from a pooled random buffer so
// an id costs no syscall and no Buffer allocation.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

export function randomHex(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request id received from a trusted peer is kept only if it is plainly safe to log and forward. */
export function isValidRequestId(value: string): boolean {
  return REQUEST_ID.test(value);
}
