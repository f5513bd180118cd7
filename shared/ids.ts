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

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const uuidText = Buffer.allocUnsafe(36);
const DASHES = [8, 13, 18, 23];

/**
 * A random UUID (version 4), as node:crypto's randomUUID gives, built in one flat string. randomUUID
 * concatenates its hex two characters at a time, about 450 bytes of intermediate strings for every
 * request (bench:alloc); here the text is written into a reused buffer and read out once.
 */
export function newRequestId(): string {
  if (offset + 16 > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (at === DASHES[0] || at === DASHES[1] || at === DASHES[2] || at === DASHES[3]) uuidText[at++] = 45; // -
    let byte = pool[offset + i]!;
    if (i === 6) byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // RFC 9562 variant
    uuidText[at++] = HEX[byte >> 4]!;
    uuidText[at++] = HEX[byte & 0x0f]!;
  }
  offset += 16;
  return uuidText.toString('latin1', 0, 36);
}
