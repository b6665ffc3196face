import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32

/**
 * A prefixed, time-ordered id (`evt_01JD...`): 48 bits of milliseconds then 80 random bits, as a ULID.
 * Sorting ids sorts by creation time, so "newest first" needs no extra index.
 */
export function newId(prefix: string, now = Date.now()): string {
  const bytes = randomBytes(10);
  let rand = '';
  // 80 bits -> 16 base32 chars, 5 bits at a time.
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return `${idFloor(prefix, now)}${rand}`;
}

/**
 * The lowest id `newId(prefix, t)` can give for any `t >= time`: `id >= idFloor(prefix, time)` selects the rows
 * created from `time` on through the primary key, with no index on the time column.
 */
export function idFloor(prefix: string, time: number): string {
  let encoded = '';
  let t = time;
  for (let i = 0; i < 10; i++) {
    encoded = ALPHABET[t % 32] + encoded;
    t = Math.floor(t / 32);
  }
  return `${prefix}_${encoded}`;
}
