import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32

/**
 * A prefixed, time-ordered id (`evt_01JD...`): 48 bits of milliseconds then 80 random bits, as a ULID.
 * Sorting ids sorts by creation time, so "newest first" needs no extra index.
 */
export function newId(prefix: string, now = Date.now()): string {
  const start = takeRandomBytes();
  let rand = '';
  // 80 bits -> 16 base32 chars, 5 bits at a time.
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < ID_RANDOM_BYTES; i++) {
    acc = (acc << 8) | pool[start + i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return `${idFloor(prefix, now)}${rand}`;
}

const ID_RANDOM_BYTES = 10;

/**
 * Random bytes from the system's generator, drawn in blocks (as `crypto.randomUUID` does): one call to the kernel
 * for hundreds of ids instead of one per id. Each block of bytes is handed out once.
 */
const pool = Buffer.alloc(ID_RANDOM_BYTES * 400);
let poolOffset = pool.length;

/** The offset in `pool` of ID_RANDOM_BYTES fresh random bytes. */
function takeRandomBytes(): number {
  if (poolOffset + ID_RANDOM_BYTES > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset += ID_RANDOM_BYTES;
  return start;
}

/**
 * The lowest id `newId(prefix, t)` can give for any `t >= time`: `id >= idFloor(prefix, time)` selects the rows
 * created from `time` on through the primary key, with no index on the time column.
 */
export function idFloor(prefix: string, time: number): string {
  let encoded = '';
  // Ids encode times from 1970 on, in ten base-32 digits: a time before is the lowest id, one beyond the highest.
  let t = Math.min(Math.max(0, Math.floor(time)), 32 ** 10 - 1);
  for (let i = 0; i < 10; i++) {
    encoded = ALPHABET[t % 32] + encoded;
    t = Math.floor(t / 32);
  }
  return `${prefix}_${encoded}`;
}

/** The creation time (epoch ms) of an id made by `newId`, or null when it is not one. */
export function idTime(id: string): number | null {
  const start = id.indexOf('_') + 1;
  if (start === 0 || id.length < start + 10) return null;
  let t = 0;
  for (let i = start; i < start + 10; i++) {
    const digit = ALPHABET.indexOf(id[i]);
    if (digit < 0) return null;
    t = t * 32 + digit;
  }
  return t;
}

/** The ids of rows created in [since, until): `id >= fromId AND id < toId` (query parameters of those names). */
export function idRange(prefix: string, range: { since: Date; until: Date }): { fromId: string; toId: string } {
  return { fromId: idFloor(prefix, range.since.getTime()), toId: idFloor(prefix, range.until.getTime()) };
}
