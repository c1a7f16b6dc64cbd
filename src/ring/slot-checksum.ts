/**
 * Slot checksums: what makes a shared-memory read safe under the JavaScript
 * memory model, not only on x86. The seqlock (reader.ts) tells a reader that
 * a slot changed while it copied, but the plain reads of the copy are data
 * races, and the ECMAScript memory model does not order them against the
 * seqlock's `Atomics.load`s (ARM cores may make them visible out of order).
 * So while readers are attached the worker also stores a 32-bit checksum of
 * each slot's contents (positions, lengths, values and bytes; flags are left
 * out: a purge changes them alone), and a reader keeps a copy only if its
 * own checksum of the copy matches. A torn copy passes with probability
 * about 2^-32; an event can only be missing from a read, never wrong.
 *
 * Arena records start 4-byte aligned, so the bytes are summed a word at a time.
 */
import type { PartitionMemory } from './layout.js';

const f64 = new Float64Array(1);
const f64i = new Int32Array(f64.buffer);

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return (h << 13) | (h >>> 19);
}

function mixNum(h: number, x: number): number {
  f64[0] = x;
  return mix(mix(h, f64i[0]), f64i[1]);
}

/**
 * Checksum of a slot's parts. `nums` = [position, timestamp, version,
 * arenaAbs, values...] (`count` of them), `lens` = [idLen, keyLen, typeLen,
 * payloadLen]; the `len` bytes start at word `wordAt` of `words` (the same
 * memory as `u8` from `byteAt`).
 */
export function checksum(
  nums: Float64Array, count: number, lens: Int32Array, words: Int32Array, wordAt: number, u8: Uint8Array, byteAt: number, len: number,
): number {
  let h = 0x2545f491;
  for (let i = 0; i < count; i++) h = mixNum(h, nums[i]);
  for (let i = 0; i < 4; i++) h = mix(h, lens[i]);
  const full = len >> 2;
  for (let i = 0; i < full; i++) h = mix(h, words[wordAt + i]);
  for (let i = full * 4; i < len; i++) h = mix(h, u8[byteAt + i]);
  h ^= len;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) | 0;
}

let nums = new Float64Array(64);
const lens = new Int32Array(4);

/** Checksum of slot `s` as it is in shared memory (the worker, which is its only writer). */
export function slotChecksum(m: PartitionMemory, s: number): number {
  const C = m.geometry.capacity;
  const V = m.geometry.valueCount;
  if (nums.length < 4 + V) nums = new Float64Array(4 + V);
  nums[0] = m.pos[s];
  nums[1] = m.ts[s];
  nums[2] = m.ver[s];
  nums[3] = m.arenaAbs[s];
  for (let v = 0; v < V; v++) nums[4 + v] = m.values[v * C + s];
  lens[0] = m.idLen[s];
  lens[1] = m.keyLen[s];
  lens[2] = m.typeLen[s];
  lens[3] = m.payloadLen[s];
  const at = m.arenaAbs[s] % m.geometry.arenaBytes;
  return checksum(nums, 4 + V, lens, m.arena32, at >> 2, m.arena, at, lens[0] + lens[1] + lens[2] + lens[3]);
}
