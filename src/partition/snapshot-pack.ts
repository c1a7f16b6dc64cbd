/**
 * snapshot() of the events a data filter selected (partition-queries.ts's
 * `each`), packed for transfer: per event its numbers and where its id and
 * payload sit in one byte buffer, keys and types sent once each.
 */
import type { Committer } from './committer.js';

/** Int32 words per event in {@link PackedEvents.lengths}. */
export const PACKED_STRIDE = 6;
/** Bytes between two events' arena bytes that a snapshot run copies along rather than starting a new run. */
const MAX_GAP = 64;

/** Packed events of one partition, sorted by (timestamp, position). Transferable. */
export interface PackedEvents {
  count: number;
  /** Per event: ts, position, version, then the declared values. */
  numbers: Float64Array;
  /** Per event, {@link PACKED_STRIDE} words: id offset in `bytes`, id length, key index, type index, payload offset, payload length. */
  lengths: Int32Array;
  /** Keys and types the events index (no per-event key string to decode): those they reference, or the worker's whole tables by id (snapshot-copy.ts). */
  keys: string[];
  types: string[];
  bytes: Uint8Array;
}

/**
 * The slots `matched` (in position order) packed for transfer, sorted by
 * (timestamp, position), at most `limit`. Event bytes are copied as runs: consecutive events sit
 * back to back in the arena, so a full snapshot is one or two `set`s of
 * the arena rather than two small copies per event (each with a view).
 * The key and type bytes between an id and its payload ride along; a gap
 * (a skipped event, alignment) wider than MAX_GAP starts a new run.
 */
export function packSlots(c: Committer, matched: number[], limit: number | undefined): PackedEvents {
  const m = c.mem;
  const C = m.geometry.capacity;
  const A = m.geometry.arenaBytes;
  const V = m.geometry.valueCount;
  let slots = matched;
  let sorted = true;
  for (let i = 1; i < slots.length && sorted; i++) sorted = m.ts[slots[i - 1]] <= m.ts[slots[i]];
  if (!sorted) slots.sort((a, b) => m.ts[a] - m.ts[b] || m.pos[a] - m.pos[b]);
  if (limit !== undefined && slots.length > limit) slots = slots.slice(0, limit);
  const n = slots.length;
  const stride = 3 + V;
  const numbers = new Float64Array(n * stride);
  const lengths = new Int32Array(n * PACKED_STRIDE);
  const { arenaAbs, idLen, keyLen, typeLen, payloadLen } = m;
  // Pass 1: the runs ([arena start, arena end) pairs) and the bytes they hold.
  const runs: number[] = [];
  let total = 0;
  let end = 0;
  for (let i = 0; i < n; i++) {
    const s = slots[i];
    const a = arenaAbs[s] % A;
    if (i === 0 || a < end || a - end > MAX_GAP) {
      if (i > 0) total += end - runs[runs.length - 1];
      runs.push(end, a);
    }
    end = a + idLen[s] + keyLen[s] + typeLen[s] + payloadLen[s];
  }
  if (n > 0) total += end - runs[runs.length - 1];
  runs.push(end);
  const bytes = new Uint8Array(total);
  const keys: string[] = [];
  const types: string[] = [];
  // Index in keys / types by id, + 1 (0: not sent yet); typed arrays, no Map lookup per event.
  const keyIndex = new Int32Array(c.keyTable.idSpan);
  const typeIndex = new Int32Array(c.typeNames.length);
  // Pass 2: copy each run once, and per event its numbers and where its id and payload landed.
  // runs holds [-, start0, end0, start1, end1, ...]: run j is [runs[2j + 1], runs[2j + 2]), replayed by the same rule.
  let r = 1;
  let at = 0;
  let shift = 0;
  end = 0;
  for (let i = 0; i < n; i++) {
    const s = slots[i];
    const a = arenaAbs[s] % A;
    if (i === 0 || a < end || a - end > MAX_GAP) {
      const from = runs[r];
      const to = runs[r + 1];
      bytes.set(m.arena.subarray(from, to), at);
      shift = at - from;
      at += to - from;
      r += 2;
    }
    end = a + idLen[s] + keyLen[s] + typeLen[s] + payloadLen[s];
    const o = i * stride;
    numbers[o] = m.ts[s];
    numbers[o + 1] = m.pos[s];
    numbers[o + 2] = m.ver[s];
    for (let v = 0; v < V; v++) numbers[o + 3 + v] = m.values[v * C + s];
    const kid = m.keyId[s];
    let k = keyIndex[kid] - 1;
    if (k < 0) {
      k = keys.push(c.keyNames[kid]) - 1;
      keyIndex[kid] = k + 1;
    }
    const tid = m.typeId[s];
    let t = typeIndex[tid] - 1;
    if (t < 0) {
      t = types.push(c.typeNames[tid]) - 1;
      typeIndex[tid] = t + 1;
    }
    const w = i * PACKED_STRIDE;
    lengths[w] = a + shift;
    lengths[w + 1] = idLen[s];
    lengths[w + 2] = k;
    lengths[w + 3] = t;
    lengths[w + 4] = a + shift + idLen[s] + keyLen[s] + typeLen[s];
    lengths[w + 5] = payloadLen[s];
  }
  return { count: n, numbers, lengths, keys, types, bytes };
}
