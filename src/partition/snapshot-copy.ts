/**
 * snapshot() of a whole partition, or of a time range of it: the packed
 * format (snapshot-pack.ts) built the short way. Packing in general copies
 * each matching event's bytes in runs and indexes its key and type; with no
 * data filter (keys, types, value comparisons, versions) the matching events
 * are one run of slots, so their arena bytes are one or two `set()`s, keys
 * and types go as the worker's whole name tables (the events index them by
 * id; unless the tables outnumber the events), and what is left per event is
 * one pass writing its numbers and offsets. The coordinator decodes it like any packed result (merge.ts).
 *
 * It is made by the partition's only writer between two commit batches, as
 * packing is, so it is one instant of the partition: nothing torn, nothing
 * half-overwritten. (Reading the shared columns from the coordinator
 * instead, under the seqlock, needs slot checksums: measured, turning them
 * on and checking them cost more than this transfer; see
 * docs/benchmarks/core.md, "Issue 15: snapshot(), third round".)
 */
import { SlotFlag } from '../ring/layout.js';
import type { Committer } from './committer.js';
import type { WireQuery } from './partition-queries.js';
import { PACKED_STRIDE, packSlots, type PackedEvents } from './snapshot-pack.js';

/** True when the query selects by time, limit or partition only: the events it matches are one run of slots. */
export function copyable(q: WireQuery): boolean {
  return q.keys === undefined && q.types === undefined && !q.comparisons?.length && q.fromVersion === undefined && q.toVersion === undefined;
}

/** The matching events of a {@link copyable} query, packed (see the module comment). */
export function copySnapshot(c: Committer, q: WireQuery): PackedEvents {
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
  // The matching slots in position order (position head + i is in slot (first + i) % C).
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
    order[n++] = s;
  }
  let slots = order.subarray(0, n);
  if (!sorted) slots.sort((a, b) => ts[a] - ts[b] || pos[a] - pos[b]);
  if (q.limit !== undefined && n > q.limit) slots = slots.subarray(0, (n = q.limit));
  // Few events against big name tables (a narrow range, a small limit): send only the names they use.
  if (c.keyNames.length + c.typeNames.length > n) return packSlots(c, Array.from(slots), undefined);
  // The arena bytes from the oldest picked event's record to the end of the newest one's. Records never
  // wrap, and everything from the oldest live record to the arena tail is resident, so a record at
  // absolute offset abs is at abs - base in the copy (one or two pieces when the arena wrapped in between).
  const { arenaAbs, idLen, keyLen, typeLen, payloadLen, keyId, typeId, ver, values } = m;
  let base = Infinity;
  let end = 0;
  for (let j = 0; j < n; j++) {
    const s = slots[j];
    const a = arenaAbs[s];
    if (a < base) base = a;
    const e = a + idLen[s] + keyLen[s] + typeLen[s] + payloadLen[s];
    if (e > end) end = e;
  }
  const bytes = new Uint8Array(n > 0 ? end - base : 0);
  if (n > 0) {
    const a0 = base % A;
    const part1 = Math.min(bytes.length, A - a0);
    bytes.set(m.arena.subarray(a0, a0 + part1), 0);
    if (part1 < bytes.length) bytes.set(m.arena.subarray(0, bytes.length - part1), part1);
  }
  const stride = 3 + V;
  const numbers = new Float64Array(n * stride);
  const lengths = new Int32Array(n * PACKED_STRIDE);
  for (let j = 0, o = 0, w = 0; j < n; j++, o += stride, w += PACKED_STRIDE) {
    const s = slots[j];
    numbers[o] = ts[s];
    numbers[o + 1] = pos[s];
    numbers[o + 2] = ver[s];
    for (let v = 0; v < V; v++) numbers[o + 3 + v] = values[v * C + s];
    const at = arenaAbs[s] - base;
    const il = idLen[s];
    lengths[w] = at;
    lengths[w + 1] = il;
    lengths[w + 2] = keyId[s];
    lengths[w + 3] = typeId[s];
    lengths[w + 4] = at + il + keyLen[s] + typeLen[s];
    lengths[w + 5] = payloadLen[s];
  }
  // Copies of the tables as of now: the result is cloned to the coordinator after this returns, and a
  // later drain may retire and reuse a name's id (at most as many names as events, by the check above).
  return { count: n, numbers, lengths, keys: c.keyNames.slice(), types: c.typeNames.slice(), bytes };
}
