/**
 * Monotonic ULIDs (https://github.com/ulid/spec), made for append loops: the
 * 10-character time part is encoded once per millisecond, the 80-bit random
 * part is drawn from a pooled `crypto.randomFillSync` buffer once per
 * millisecond and incremented within it (as the `ulid` package's
 * `monotonicFactory` does), and an id is two string pieces joined: the cached
 * first 24 characters and the last 2 from a table. About 10x cheaper per id
 * than `monotonicFactory()`, with the same output format and ordering.
 */
import { randomFillSync } from 'node:crypto';
import { InvalidStreamArgumentError } from './errors.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_MAX = 2 ** 48 - 1;
/** The 1,024 two-character suffixes, by value (`hi * 32 + lo`). */
const PAIRS: readonly string[] = Array.from({ length: 1024 }, (_, i) => ALPHABET[i >> 5]! + ALPHABET[i & 31]!);

/** A monotonic ULID generator: ids increase strictly, also within one millisecond or when time goes back. */
export class MonotonicUlid {
  #lastTime = -1;
  #time = '';
  /** The random part, one base-32 digit (0..31) per element. */
  readonly #rand = new Uint8Array(16);
  /** Time part + random digits 0..13. */
  #head = '';
  readonly #pool = new Uint8Array(256);
  #poolPos = 256;

  /** A new ULID for time `now` (epoch ms). */
  next(now: number): string {
    if (!(now >= 0 && now <= TIME_MAX)) throw new InvalidStreamArgumentError(`cannot make a ULID for time ${now}`, { now });
    const t = Math.floor(now);
    const r = this.#rand;
    if (t > this.#lastTime) {
      this.#lastTime = t;
      this.#time = encodeTime(t);
      this.#fillRandom();
      this.#head = this.#time + digits(r, 0, 14);
    } else {
      // Same (or an earlier) millisecond: increment the random part by one.
      let i = 15;
      while (i >= 0 && r[i] === 31) r[i--] = 0;
      if (i < 0) throw new InvalidStreamArgumentError('ULID random part overflow within one millisecond');
      r[i]!++;
      if (i < 14) this.#head = this.#time + digits(r, 0, 14);
    }
    return this.#head + PAIRS[(r[14]! << 5) | r[15]!]!;
  }

  #fillRandom(): void {
    if (this.#poolPos + 16 > this.#pool.length) {
      randomFillSync(this.#pool);
      this.#poolPos = 0;
    }
    // 256 is a multiple of 32, so `byte & 31` is uniform.
    for (let i = 0; i < 16; i++) this.#rand[i] = this.#pool[this.#poolPos++]! & 31;
  }
}

function encodeTime(t: number): string {
  let s = '';
  for (let i = 0; i < 10; i++) {
    const mod = t % 32;
    s = ALPHABET[mod]! + s;
    t = (t - mod) / 32;
  }
  return s;
}

function digits(r: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += ALPHABET[r[i]!]!;
  return s;
}
