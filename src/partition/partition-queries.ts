import { invalidArgument } from '../errors.js';
import { SlotFlag } from '../ring/layout.js';
import type { Committer } from './committer.js';

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

/** Packed events of one partition, sorted by (timestamp, position). Transferable. */
export interface PackedEvents {
  count: number;
  /** Per event: ts, position, version, then the declared values. */
  numbers: Float64Array;
  /** Per event: idLen, keyLen, typeLen, payloadLen (bytes follow in this order). */
  lengths: Int32Array;
  bytes: Uint8Array;
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
    for (let p = c.headPos; p < c.tailPos; p++) {
      const s = (p - 1) % C;
      if (!(flags[s] & SlotFlag.LIVE) || pos[s] !== p) continue;
      const t = ts[s];
      if (t < from || t > to) continue;
      if (keyIds !== null && !keyIds.has(m.keyId[s])) continue;
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

  /** count/sum/min/max of value v (v = -1: count only). */
  aggregate(v: number, q: WireQuery): Partial {
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
    this.each(q, (s) => {
      count++;
      if (v >= 0) {
        const x = vals[v * C + s];
        sum += x;
        if (x < min) min = x;
        if (x > max) max = x;
      }
    });
    return { count, sum, min, max };
  }

  /** Per key: count/sum/min/max of value v. */
  groupBy(v: number, q: WireQuery): { keys: string[]; partials: Partial[] } {
    const m = this.c.mem;
    const C = m.geometry.capacity;
    const byKey = new Map<number, Partial>();
    this.each(q, (s) => {
      const id = m.keyId[s];
      let p = byKey.get(id);
      if (p === undefined) {
        p = { count: 0, sum: 0, min: Infinity, max: -Infinity };
        byKey.set(id, p);
      }
      p.count++;
      if (v >= 0) {
        const x = m.values[v * C + s];
        p.sum += x;
        if (x < p.min) p.min = x;
        if (x > p.max) p.max = x;
      }
    });
    const keys: string[] = [];
    const partials: Partial[] = [];
    for (const [id, p] of byKey) {
      keys.push(this.c.keyNames[id]);
      partials.push(p);
    }
    return { keys, partials };
  }

  /** Matching events packed for transfer, sorted by (timestamp, position), at most q.limit. */
  snapshot(q: WireQuery): PackedEvents {
    const m = this.c.mem;
    const C = m.geometry.capacity;
    const A = m.geometry.arenaBytes;
    const V = m.geometry.valueCount;
    let slots: number[] = [];
    this.each(q, (s) => {
      slots.push(s);
    });
    let sorted = true;
    for (let i = 1; i < slots.length && sorted; i++) sorted = m.ts[slots[i - 1]] <= m.ts[slots[i]];
    if (!sorted) slots.sort((a, b) => m.ts[a] - m.ts[b] || m.pos[a] - m.pos[b]);
    if (q.limit !== undefined && slots.length > q.limit) slots = slots.slice(0, q.limit);
    const n = slots.length;
    const stride = 3 + V;
    const numbers = new Float64Array(n * stride);
    const lengths = new Int32Array(n * 4);
    let total = 0;
    for (const s of slots) total += m.idLen[s] + m.keyLen[s] + m.typeLen[s] + m.payloadLen[s];
    const bytes = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const o = i * stride;
      numbers[o] = m.ts[s];
      numbers[o + 1] = m.pos[s];
      numbers[o + 2] = m.ver[s];
      for (let v = 0; v < V; v++) numbers[o + 3 + v] = m.values[v * C + s];
      const len = m.idLen[s] + m.keyLen[s] + m.typeLen[s] + m.payloadLen[s];
      lengths[i * 4] = m.idLen[s];
      lengths[i * 4 + 1] = m.keyLen[s];
      lengths[i * 4 + 2] = m.typeLen[s];
      lengths[i * 4 + 3] = m.payloadLen[s];
      const src = m.arenaAbs[s] % A;
      bytes.set(m.arena.subarray(src, src + len), at);
      at += len;
    }
    return { count: n, numbers, lengths, bytes };
  }

  /** Window partials per value from the time buckets: O(buckets). */
  window(from: number, to: number): { count: number; perValue: Partial[] } {
    const b = this.c.buckets;
    if (b === null) throw invalidArgument('window aggregates need the window option');
    if (b.needsRescan(from, to)) {
      const m = this.c.mem;
      const C = m.geometry.capacity;
      b.rebuildMinMax((visit) => this.each({}, (s) => visit(m.ts[s], m.values, s, C)));
    }
    return b.query(from, to);
  }
}
