/**
 * snapshot() of a whole partition, or of a time range of it, as straight
 * copies of its slot columns and arena bytes. Packing (snapshot-pack.ts)
 * costs the worker about 0.4 µs per event (per-event offsets, numbers, key
 * and type indexes) before the coordinator can start merging; these copies
 * are a few `set()`s of contiguous memory, and the coordinator reads each
 * event from them the way it would read a packed one (copied-merge.ts).
 *
 * The copies are made by the partition's only writer between two commit
 * batches, so they are one instant of the partition, exactly what packing
 * sees: no seqlock, no checksum, nothing torn. (Reading the shared columns
 * from the coordinator instead, under the seqlock, needs slot checksums:
 * measured, turning them on and checking them cost more than packing; see
 * docs/benchmarks/core.md, "Issue 15: snapshot(), third round".)
 *
 * Only queries without data filters (keys, types, value comparisons,
 * versions) come here: those select scattered events, and packing copies
 * only what matches.
 */
import { SlotFlag } from '../ring/layout.js';
import type { Committer } from './committer.js';
import type { WireQuery } from './partition-queries.js';

/** Columns of {@link CopiedEvents.nums}, each `span` long; the declared values follow. */
export const CopyNum = { TS: 0, POS: 1, VER: 2, ABS: 3, VALUES: 4 } as const;
/** Columns of {@link CopiedEvents.ints}, each `span` long. */
export const CopyInt = { ID_LEN: 0, KEY_LEN: 1, TYPE_LEN: 2, PAYLOAD_LEN: 3, KEY_ID: 4, TYPE_ID: 5 } as const;
const INT_COLUMNS = 6;

/** One partition's matching events as copies of a run of its slots. Transferable. */
export interface CopiedEvents {
  copied: true;
  count: number;
  /** Slots in the copied run that match, in (timestamp, position) order: `count` of them. */
  order: Int32Array;
  /** Slots in the copied run. */
  span: number;
  /** Column-major: column k of slot i at `k * span + i` ({@link CopyNum}). */
  nums: Float64Array;
  /** Column-major ({@link CopyInt}). */
  ints: Int32Array;
  /** The arena from the run's first record on: a record at absolute offset `abs` starts at `abs - base`. */
  bytes: Uint8Array;
  base: number;
  /** Key and type names by id, as the worker's tables had them at the copy. */
  keyNames: string[];
  typeNames: string[];
}

/** True when the query selects by time, limit or partition only: the events it matches are one run of slots. */
export function copyable(q: WireQuery): boolean {
  return q.keys === undefined && q.types === undefined && !q.comparisons?.length && q.fromVersion === undefined && q.toVersion === undefined;
}

/** The matching events of a {@link copyable} query, copied (see the module comment). */
export function copySnapshot(c: Committer, q: WireQuery): CopiedEvents {
  const m = c.mem;
  const C = m.geometry.capacity;
  const A = m.geometry.arenaBytes;
  const V = m.geometry.valueCount;
  const head = c.headPos;
  const n0 = Math.max(0, c.tailPos - head);
  const first = n0 > 0 ? (head - 1) % C : 0;
  const from = q.from ?? -Infinity;
  const to = q.to ?? Infinity;
  const { flags, pos, ts } = m;
  // Run index i is position head + i, in slot (first + i) % C.
  const order = new Int32Array(n0);
  let n = 0;
  let sorted = true;
  let lastTs = -Infinity;
  for (let i = 0, s = first; i < n0; i++, s = s + 1 === C ? 0 : s + 1) {
    if ((flags[s] & SlotFlag.LIVE) === 0 || pos[s] !== head + i) continue;
    const t = ts[s];
    if (t < from || t > to) continue;
    if (t < lastTs) sorted = false;
    lastTs = t;
    order[n++] = i;
  }
  let picked = order.subarray(0, n);
  if (!sorted) picked.sort((a, b) => ts[(first + a) % C] - ts[(first + b) % C] || a - b);
  if (q.limit !== undefined && n > q.limit) picked = picked.subarray(0, (n = q.limit));
  // Copy only the run of slots the picked events span.
  let lo = 0;
  let hi = -1;
  if (n > 0) {
    lo = picked[0];
    hi = picked[0];
    for (let j = 1; j < n; j++) {
      const i = picked[j];
      if (i < lo) lo = i;
      else if (i > hi) hi = i;
    }
  }
  const span = hi - lo + 1;
  const out = new Int32Array(n);
  for (let j = 0; j < n; j++) out[j] = picked[j] - lo;
  const nums = new Float64Array((CopyNum.VALUES + V) * span);
  const ints = new Int32Array(INT_COLUMNS * span);
  const numCols = [m.ts, m.pos, m.ver, m.arenaAbs];
  const intCols = [m.idLen, m.keyLen, m.typeLen, m.payloadLen, m.keyId, m.typeId];
  const s0 = (first + lo) % C;
  // The run as at most two slot ranges: [s0, s0 + len1) and [0, span - len1).
  const len1 = Math.min(span, C - s0);
  const copy = (dst: Float64Array | Int32Array, at: number, src: Float64Array | Int32Array, srcAt: number): void => {
    dst.set(src.subarray(srcAt + s0, srcAt + s0 + len1), at);
    if (len1 < span) dst.set(src.subarray(srcAt, srcAt + span - len1), at + len1);
  };
  for (let k = 0; k < numCols.length; k++) copy(nums, k * span, numCols[k], 0);
  for (let v = 0; v < V; v++) copy(nums, (CopyNum.VALUES + v) * span, m.values, v * C);
  for (let k = 0; k < INT_COLUMNS; k++) copy(ints, k * span, intCols[k], 0);
  // Arena bytes from the first slot's record to the end of the last one's. Records never wrap, and
  // everything from the oldest live record to the arena tail is resident, so offsets are abs - base.
  let base = 0;
  let bytes = new Uint8Array(0);
  if (span > 0) {
    const last = (s0 + span - 1) % C;
    base = m.arenaAbs[s0];
    const end = m.arenaAbs[last] + m.idLen[last] + m.keyLen[last] + m.typeLen[last] + m.payloadLen[last];
    bytes = new Uint8Array(end - base);
    const a0 = base % A;
    const part1 = Math.min(bytes.length, A - a0);
    bytes.set(m.arena.subarray(a0, a0 + part1), 0);
    if (part1 < bytes.length) bytes.set(m.arena.subarray(0, bytes.length - part1), part1);
  }
  return { copied: true, count: n, order: out, span, nums, ints, bytes, base, keyNames: c.keyNames, typeNames: c.typeNames };
}
