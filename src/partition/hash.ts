import { invalidArgument } from '../errors.js';

/**
 * Stable string hash used for partition routing: 32-bit FNV-1a over the
 * string's UTF-16 code units. It has no per-process seed, so the same key
 * lands in the same partition in every process and after every restart
 * (the reference's `HashCode.Combine` is randomly seeded per process).
 */
export function hashKey(key: string): number {
  // A number looped over its undefined length: every number hashed as the empty string.
  if (typeof key !== 'string') throw invalidArgument(`hashKey takes a string, got ${typeof key}`);
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The partition a key routes to among `partitions` partitions, as the stores route it: a finite number is
 * routed as its string (`5` as `"5"`). `RS_ERR_INVALID_ARGUMENT` for another key or a count that is not an
 * integer from 1 to 2^32.
 */
export function partitionOf(key: string | number, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 2 ** 32) throw invalidArgument(`partitions must be an integer from 1 to 2^32, got ${String(partitions)}`);
  if (typeof key === 'number' && Number.isFinite(key)) return hashKey(String(key)) % partitions;
  if (typeof key !== 'string') throw invalidArgument(`partitionOf takes a string or a finite number, got ${String(key)}`);
  return hashKey(key) % partitions;
}

const LANE_PRIMES = [0x01000193, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f];

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Seeded multi-lane hashes of byte ranges, for the partition's tables (the
 * key directory uses 2 lanes, the dedup window 4). Each lane is an FNV-style
 * byte loop with its own prime and seed, finalised with murmur3's mixer. The
 * seeds are drawn once per store and kept in its shared memory (they survive
 * worker restarts), so clients cannot precompute colliding keys or ids.
 */
export class TableHash {
  /** Lane results of the last call, as signed 32-bit integers. */
  readonly out = new Int32Array(4);
  private readonly seeds = new Int32Array(4);

  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Derives the lane seeds from `seed` (a restore loads the store's seed after construction). */
  reseed(seed: number): void {
    let s = seed | 0;
    for (let i = 0; i < 4; i++) {
      s = fmix32((s + 0x9e3779b9 * (i + 1)) | 0);
      this.seeds[i] = s;
    }
  }

  /** Hashes `u8[at, at + len)` into `lanes` lanes of {@link out}. */
  bytes(u8: Uint8Array, at: number, len: number, lanes: number): Int32Array {
    for (let l = 0; l < lanes; l++) {
      let h = this.seeds[l];
      const p = LANE_PRIMES[l];
      for (let i = 0; i < len; i++) h = Math.imul(h ^ u8[at + i], p);
      this.out[l] = fmix32(h ^ len);
    }
    return this.out;
  }

  /** Hashes two byte ranges as one message `a ‖ 0xff ‖ b` (0xff never occurs in UTF-8) into 4 lanes. */
  pair(u8: Uint8Array, a: number, aLen: number, b: number, bLen: number): Int32Array {
    for (let l = 0; l < 4; l++) {
      let h = this.seeds[l];
      const p = LANE_PRIMES[l];
      for (let i = 0; i < aLen; i++) h = Math.imul(h ^ u8[a + i], p);
      h = Math.imul(h ^ 0xff, p);
      for (let i = 0; i < bLen; i++) h = Math.imul(h ^ u8[b + i], p);
      this.out[l] = fmix32(h ^ (aLen + bLen));
    }
    return this.out;
  }
}
