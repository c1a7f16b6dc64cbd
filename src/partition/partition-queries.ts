import { invalidArgument } from '../errors.js';
import { SlotFlag } from '../ring/layout.js';
import type { Committer } from './committer.js';
import { aboveMax, belowMin } from './extremes.js';
import { countRange, denseKernel, kernelCount } from './scan-kernels.js';
import { copyable, copySnapshot } from './snapshot-copy.js';
import { packSlots, type PackedEvents } from './snapshot-pack.js';

/** The serialisable part of a query: what crosses to the partition workers. */
export interface WireQuery {
  from?: number;
  to?: number;
  keys?: string[];
  types?: string[];
  /** [valueIndex, op, operand] triples; op is one of OPS. */
  comparisons?: [number, number, number][];
  fromVersion?: number;
  toVersion?: number;
  limit?: number;
}

export const OPS = { eq: 0, ne: 1, gt: 2, gte: 3, lt: 4, lte: 5 } as const;

export interface Partial {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Per-key aggregates of one partition as columns (transferable; no object per key). */
export interface GroupColumns {
  keys: string[];
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/**
 * Query execution inside a partition worker, straight over the columns. The
 * worker is the only writer of its partition, so between two commit batches
 * nothing moves under it: no seqlock needed here.
 */
export class PartitionQueries {
  private readonly c: Committer;

  constructor(committer: Committer) {
    this.c = committer;
  }

  /** Calls visit(slot) for each live slot matching q, oldest position first. */
  private each(q: WireQuery, visit: (slot: number) => boolean | void): void {
    const c = this.c;
    const m = c.mem;
    const C = m.geometry.capacity;
    const from = q.from ?? -Infinity;
    const to = q.to ?? Infinity;
    let keyIds: Set<number> | null = null;
    if (q.keys !== undefined) {
      keyIds = new Set();
      for (const k of q.keys) {
        const ks = c.keys.get(k);
        if (ks !== undefined) keyIds.add(ks.id);
      }
      if (keyIds.size === 0) return;
    }
    let typeIds: Set<number> | null = null;
    if (q.types !== undefined) {
      typeIds = new Set();
      for (const t of q.types) {
        const id = c.types.get(t);
        if (id !== undefined) typeIds.add(id);
      }
      if (typeIds.size === 0) return;
    }
    const cmp = q.comparisons ?? [];
    const fromVersion = q.fromVersion ?? -Infinity;
    const toVersion = q.toVersion ?? Infinity;
    const ver = m.ver;
    const ts = m.ts;
    const flags = m.flags;
    const pos = m.pos;
    const values = m.values;
    // With a key filter, walk the key index instead of every slot: one key's positions are already in
    // order; several keys' are merged by a sort, worth it only when they are much fewer than the slots.
    let list: number[] | null = null;
    let listStart = 0;
    if (keyIds !== null) {
      let indexed = 0;
      for (const id of keyIds) indexed += c.keyById[id]!.positions.length - c.keyById[id]!.first;
      const span = c.tailPos - c.headPos;
      if (keyIds.size === 1) {
        const ks = c.keyById[keyIds.values().next().value as number]!;
        if (indexed <= span) {
          list = ks.positions;
          listStart = ks.first;
        }
      } else if (indexed * 4 < span) {
        list = [];
        for (const id of keyIds) {
          const ks = c.keyById[id]!;
          for (let i = ks.first; i < ks.positions.length; i++) list.push(ks.positions[i]);
        }
        list.sort((a, b) => a - b);
      }
    }
    const n = list === null ? c.tailPos - c.headPos : list.length;
    for (let i = list === null ? 0 : listStart; i < n; i++) {
      const p = list === null ? c.headPos + i : list[i];
      if (p < c.headPos) continue;
      const s = (p - 1) % C;
      if (!(flags[s] & SlotFlag.LIVE) || pos[s] !== p) continue;
      const t = ts[s];
      if (t < from || t > to) continue;
      if (list === null && keyIds !== null && !keyIds.has(m.keyId[s])) continue;
      if (ver[s] < fromVersion || ver[s] > toVersion) continue;
      if (typeIds !== null && !typeIds.has(m.typeId[s])) continue;
      let ok = true;
      for (let i = 0; i < cmp.length && ok; i++) {
        const [v, op, x] = cmp[i];
        const y = values[v * C + s];
        ok = op === 0 ? y === x : op === 1 ? y !== x : op === 2 ? y > x : op === 3 ? y >= x : op === 4 ? y < x : y <= x;
      }
      if (ok && visit(s) === false) return;
    }
  }

  /** count/sum (and min/max when `extremes`) of value v (v = -1: count only). */
  aggregate(v: number, q: WireQuery, extremes = true): Partial {
    const m = this.c.mem;
    const C = m.geometry.capacity;
    const vals = m.values;
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    if (v < 0 && q.keys === undefined && q.types === undefined && !q.comparisons?.length && q.from === undefined && q.to === undefined && q.fromVersion === undefined && q.toVersion === undefined) {
      return { count: this.c.live, sum: 0, min, max };
    }
    const cmps = q.comparisons ?? [];
    if (q.keys === undefined && q.types === undefined && q.fromVersion === undefined && q.toVersion === undefined && cmps.length <= 1) {
      return this.scan(v, q.from ?? -Infinity, q.to ?? Infinity, cmps[0], extremes);
    }
    this.each(q, (s) => {
      count++;
      if (v >= 0) {
        const x = vals[v * C + s];
        sum += x;
        if (belowMin(x, min)) min = x;
        if (aboveMax(x, max)) max = x;
      }
    });
    return { count, sum, min, max };
  }

  /** The slots holding positions [head, tail), as at most two contiguous [start, end) runs. */
  private slotRuns(): [number, number][] {
    const c = this.c;
    const C = c.mem.geometry.capacity;
    const n = c.tailPos - c.headPos;
    if (n <= 0) return [];
    const first = (c.headPos - 1) % C;
    return first + n <= C ? [[first, first + n]] : [[first, C], [0, first + n - C]];
  }

  /**
   * The common aggregate shape (time range, at most one value comparison)
   * as flat loops over the slot columns: no callback per slot, and slots
   * walked as at most two contiguous runs instead of position modulo C.
   * When every slot in the runs is live (nothing purged in between: live =
   * tail - head) and there is no time range, the loop is the bare one
   * (scan-kernels.ts); so is a count over a time range.
   */
  private scan(v: number, from: number, to: number, cmp: [number, number, number] | undefined, extremes: boolean): Partial {
    const c = this.c;
    const m = c.mem;
    const C = m.geometry.capacity;
    const timed = from !== -Infinity || to !== Infinity;
    const dense = c.live === c.tailPos - c.headPos;
    const out: Partial = { count: 0, sum: 0, min: Infinity, max: -Infinity };
    for (const [start, end] of this.slotRuns()) {
      // Each run's columns as subarrays: the kernels' loops run from 0 to length (see scan-kernels.ts).
      const col = (i: number): Float64Array => m.values.subarray(i * C + start, i * C + end);
      const cmpVals = cmp === undefined ? null : col(cmp[0]);
      // The same subarray when the sum is over the compared value: the kernels tell the cases apart by identity.
      const vals = v < 0 ? null : cmp !== undefined && cmp[0] === v ? cmpVals : col(v);
      if (dense && !timed && !extremes) {
        out.sum += denseKernel(vals, cmpVals, cmp === undefined ? 0 : cmp[1], cmp === undefined ? 0 : cmp[2]);
        out.count += kernelCount;
      } else if (v < 0 && cmp === undefined) {
        countRange(m.flags.subarray(start, end), m.ts.subarray(start, end), from, to, dense);
        out.count += kernelCount;
      } else this.generalRun(start, end, vals, from, to, timed, cmpVals, cmp, out);
    }
    return out;
  }

  /** Any other shape over one run [start, end): vals and cmpVals are that run of their columns. */
  private generalRun(
    start: number, end: number, vals: Float64Array | null, from: number, to: number, timed: boolean,
    cmpVals: Float64Array | null, cmp: [number, number, number] | undefined, out: Partial,
  ): void {
    const m = this.c.mem;
    const flags = m.flags.subarray(start, end);
    const ts = m.ts.subarray(start, end);
    const op = cmp !== undefined ? cmp[1] : -1;
    const x0 = cmp !== undefined ? cmp[2] : 0;
    let count = out.count;
    let sum = out.sum;
    let min = out.min;
    let max = out.max;
    for (let s = 0; s < flags.length; s++) {
      if ((flags[s] & 1) === 0) continue; // SlotFlag.LIVE
      if (timed) {
        const t = ts[s];
        if (t < from || t > to) continue;
      }
      if (cmpVals !== null) {
        const y = cmpVals[s];
        if (op === 0 ? y !== x0 : op === 1 ? y === x0 : op === 2 ? y <= x0 : op === 3 ? y < x0 : op === 4 ? y >= x0 : y > x0) continue;
      }
      count++;
      if (vals !== null) {
        const x = vals[s];
        sum += x;
        if (belowMin(x, min)) min = x;
        if (aboveMax(x, max)) max = x;
      }
    }
    out.count = count;
    out.sum = sum;
    out.min = min;
    out.max = max;
  }

  /** Per key: count/sum/min/max of value v. */
  groupBy(v: number, q: WireQuery): GroupColumns {
    const m = this.c.mem;
    const C = m.geometry.capacity;
    // Accumulators indexed by key id: typed arrays, no Map lookup or object per key while scanning.
    const K = this.c.keyTable.idSpan;
    const count = new Float64Array(K);
    const sum = new Float64Array(K);
    const min = new Float64Array(K).fill(Infinity);
    const max = new Float64Array(K).fill(-Infinity);
    const keyId = m.keyId;
    const vals = m.values;
    const vBase = v * C;
    const add = (s: number): void => {
      const id = keyId[s];
      count[id]++;
      if (v >= 0) {
        const x = vals[vBase + s];
        sum[id] += x;
        if (belowMin(x, min[id])) min[id] = x;
        if (aboveMax(x, max[id])) max[id] = x;
      }
    };
    if (q.keys === undefined && q.types === undefined && q.fromVersion === undefined && q.toVersion === undefined && !q.comparisons?.length) {
      // No data filter but time: a flat loop over the slot runs (the common shape of top(k)).
      const from = q.from ?? -Infinity;
      const to = q.to ?? Infinity;
      const flags = m.flags;
      const ts = m.ts;
      for (const [a, b] of this.slotRuns()) {
        for (let s = a; s < b; s++) {
          if ((flags[s] & 1) === 0) continue; // SlotFlag.LIVE
          const t = ts[s];
          if (t < from || t > to) continue;
          add(s);
        }
      }
    } else this.each(q, add);
    let n = 0;
    for (let id = 0; id < K; id++) if (count[id] > 0) n++;
    const out: GroupColumns = { keys: [], count: new Float64Array(n), sum: new Float64Array(n), min: new Float64Array(n), max: new Float64Array(n) };
    let j = 0;
    for (let id = 0; id < K; id++) {
      if (count[id] === 0) continue;
      out.keys.push(this.c.keyNames[id]);
      out.count[j] = count[id];
      out.sum[j] = sum[id];
      out.min[j] = min[id];
      out.max[j] = max[id];
      j++;
    }
    return out;
  }

  /**
   * Matching events for snapshot(), packed, sorted by (timestamp, position),
   * at most q.limit: the short way when the query has no data filter
   * (snapshot-copy.ts), event by event otherwise (snapshot-pack.ts).
   */
  snapshot(q: WireQuery): PackedEvents {
    if (copyable(q)) return copySnapshot(this.c, q);
    const slots: number[] = [];
    this.each(q, (s) => {
      slots.push(s);
    });
    return packSlots(this.c, slots, q.limit);
  }

  /**
   * Window partials per value from the time buckets: O(buckets). `from` and
   * `to` null: this partition's window, [newest - size, newest].
   */
  window(from: number | null, to: number | null): { count: number; perValue: Partial[] } {
    const b = this.c.buckets;
    if (b === null) throw invalidArgument('window aggregates need the window option');
    if (from === null || to === null) {
      to = b.newest;
      from = b.newest - b.sizeMs;
    }
    if (b.needsRescan(from, to)) {
      const m = this.c.mem;
      const C = m.geometry.capacity;
      b.rebuild((visit) => this.each({}, (s) => visit(m.ts[s], m.values, s, C)));
    }
    return b.query(from, to);
  }
}
