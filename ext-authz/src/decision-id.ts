/**
 * Decision ids: random (version 4) UUIDs, as `crypto.randomUUID()` makes them, but each written
 * as one string from a pool of random bytes (node's builds each id from ~20 small strings, about
 * 0.6 KB of garbage per Check).
 */
import { randomFillSync } from 'node:crypto';

const IDS_PER_FILL = 256;
const pool = Buffer.alloc(16 * IDS_PER_FILL);
let nextId = IDS_PER_FILL;
const text = Buffer.alloc(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** A new random UUID, lowercase hex (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`). */
export function decisionId(): string {
  if (nextId === IDS_PER_FILL) {
    randomFillSync(pool);
    nextId = 0;
  }
  const at = 16 * nextId++;
  let o = 0;
  for (let i = 0; i < 16; i++) {
    let b = pool[at + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 9562 variant (10xx)
    if (i === 4 || i === 6 || i === 8 || i === 10) text[o++] = 0x2d;
    text[o++] = HEX[b >> 4]!;
    text[o++] = HEX[b & 15]!;
  }
  return text.toString('latin1', 0, 36);
}
