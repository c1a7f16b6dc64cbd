// top(k) has one total order everywhere: +Infinity, finite descending, -Infinity, NaN; equal
// values by key (ascending, code units). Before src/store/top-order.ts, EventStore.top sorted with
// `b.value - a.value || key order`, which is NaN (so "equal", then by key) for two infinities and
// for any NaN: the EventStore case below failed (a NaN sum ranked by key among the finite ones).
// MetricStore's own comparator already ranked its sums right (its sums cannot be NaN: a key lives in
// one partition); its case checks it keeps doing so through the shared order.
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore, partitionOf } from '../dist/src/index.js';
import { MetricStore } from '../dist/src/store/metric-store.js';
import { compareTop, mergeTop, selectTop, type TopEntry } from '../dist/src/store/top-order.js';

const MAX = Number.MAX_VALUE;

/** Shuffles a copy (deterministic: a fixed LCG), so a sort's input order is not the answer. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const row = (key: string, value: number): TopEntry => ({ key, value });

describe('compareTop', () => {
  const ordered: TopEntry[] = [
    row('a', Infinity), row('b', Infinity),
    row('z', 1e300), row('a', 5), row('b', 5), row('a', 0), row('b', -0), row('c', 0), row('y', -1e300),
    row('a', -Infinity), row('c', -Infinity),
    row('a', NaN), row('b', NaN),
  ];

  it('orders +Infinity, finite descending, -Infinity, NaN, and equal values by key, from any input order', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const sorted = shuffled(ordered, seed).sort(compareTop);
      expect(sorted.map((r) => `${r.key}:${r.value}`)).toEqual(ordered.map((r) => `${r.key}:${r.value}`));
    }
  });

  it('is a total order: antisymmetric, never NaN, 0 only for the same key and equal value', () => {
    for (const a of ordered) {
      for (const b of ordered) {
        const ab = compareTop(a, b);
        const ba = compareTop(b, a);
        expect(Number.isNaN(ab)).toBe(false);
        expect(Math.sign(ab)).toBe(-Math.sign(ba) || 0);
        if (ab === 0) expect(a.key).toBe(b.key);
      }
    }
  });

  it('keys compare by code unit, not locale', () => {
    expect([row('b', 1), row('B', 1), row('a', 1)].sort(compareTop).map((r) => r.key)).toEqual(['B', 'a', 'b']);
  });
});

describe('mergeTop: partitions returning NaN and the infinities, ties across partitions', () => {
  // What workers return: per-key sums as columns. 'nan' partial sums are NaN already in p2.
  const parts = [
    { keys: ['inf', 'b', 'split', 'nan'], sum: new Float64Array([Infinity, 5, 2, NaN]) },
    { keys: ['ninf', 'c', 'cancel'], sum: new Float64Array([-Infinity, 7, Infinity]) },
    { keys: ['a', 'split', 'cancel', 'zero'], sum: new Float64Array([5, 3, -Infinity, 0]) },
  ];
  // split: 2 + 3 = 5 (ties a and b across partitions); cancel: +Inf + -Inf = NaN.
  const full = ['inf', 'c', 'a', 'b', 'split', 'zero', 'ninf', 'cancel', 'nan'];

  it('ranks the merged sums in the one order', () => {
    const top = mergeTop(parts, 100);
    expect(top.map((r) => r.key)).toEqual(full);
    expect(Number.isNaN(top.find((r) => r.key === 'cancel')!.value)).toBe(true);
    expect(top.find((r) => r.key === 'split')!.value).toBe(5);
  });

  it.each([
    ['distinct keys - 1', full.length - 1],
    ['distinct keys', full.length],
    ['distinct keys + 1', full.length + 1],
    ['0', 0],
  ])('k = %s', (_name, k) => {
    for (const order of [parts, [...parts].reverse(), [parts[1]!, parts[2]!, parts[0]!]]) {
      expect(mergeTop(order, k).map((r) => r.key)).toEqual(full.slice(0, k));
    }
  });

  it('selectTop keeps the input when k passes its length, cuts it at k otherwise', () => {
    const rows = [row('a', 1), row('b', 2)];
    expect(selectTop([...rows], 1).map((r) => r.key)).toEqual(['b']);
    expect(selectTop([...rows], 2).map((r) => r.key)).toEqual(['b', 'a']);
    expect(selectTop([...rows], 3).map((r) => r.key)).toEqual(['b', 'a']);
  });
});

interface Ev {
  k: string;
  n: number;
  ts: number;
}

describe('EventStore.top uses the one order', () => {
  const stores: EventStore<Ev, 'n'>[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  /** A key named `${prefix}${i}` of partition p of n. */
  function keyOf(p: number, n: number, prefix: string): string {
    for (let i = 0; ; i++) if (partitionOf(`${prefix}${i}`, n) === p) return `${prefix}${i}`;
  }

  it('NaN, the infinities and ties that span partitions; k at distinct keys - 1, =, + 1', async () => {
    const store = EventStore.create<Ev, 'n'>({ capacity: 64, partitions: 3, key: 'k', timestamp: 'ts', values: { n: 'n' } });
    stores.push(store);
    const inf = keyOf(0, 3, 'inf');
    const ninf = keyOf(1, 3, 'ninf');
    const b = keyOf(0, 3, 'b');
    const a = keyOf(2, 3, 'a');
    const c = keyOf(1, 3, 'c');
    let ts = 0;
    const add = (k: string, n: number, partition?: number) => store.append({ k, n, ts: ++ts }, partition === undefined ? undefined : { partition });
    await add(inf, MAX);
    await add(inf, MAX); // +Infinity in partition 0
    await add(ninf, -MAX);
    await add(ninf, -MAX); // -Infinity in partition 1
    await add(b, 5);
    await add(a, 5);
    await add(c, 7);
    // 'split' (no hash placement): 2 in partition 0 and 3 in partition 2, 5 in all: ties a and b.
    await add('split', 2, 0);
    await add('split', 3, 2);
    // 'nan': +Infinity in partition 0, -Infinity in partition 1, NaN once merged.
    await add('nan', MAX, 0);
    await add('nan', MAX, 0);
    await add('nan', -MAX, 1);
    await add('nan', -MAX, 1);
    const expected = [inf, c, ...[a, b, 'split'].sort(), ninf, 'nan'];
    const all = await store.top(100, 'n');
    expect(all.map((r) => r.key)).toEqual(expected);
    expect(Number.isNaN(all.at(-1)!.value)).toBe(true);
    for (const k of [expected.length - 1, expected.length, expected.length + 1]) {
      expect((await store.top(k, 'n')).map((r) => r.key)).toEqual(expected.slice(0, k));
    }
    // With a filter the sums are added on the coordinator in the workers' order (by position within a
    // partition, then partitions in order: src/store/filter-sums.ts), so the same rows: 'nan' is NaN there too.
    const filtered = await store.top(100, 'n', { filter: () => true });
    expect([...filtered].sort(compareTop)).toEqual(filtered);
    expect(filtered).toEqual(all);
  });
});

describe('MetricStore.top uses the one order', () => {
  it('the infinities among finite sums and ties across partitions; k at distinct keys - 1, =, + 1', () => {
    const store = MetricStore.create({ capacity: 64, partitions: 3 });
    const keys = ['inf', 'ninf', 'a', 'b', 'c', 'g'];
    // b and g tie, in different partitions, so the tie spans partitions.
    expect(new Set(['b', 'g'].map((k) => partitionOf(k, 3))).size).toBe(2);
    store.add('inf', MAX, 1);
    store.add('inf', MAX, 2);
    store.add('ninf', -MAX, 1);
    store.add('ninf', -MAX, 2);
    store.add('a', 1, 1);
    store.add('b', 4, 1);
    store.add('g', 4, 1);
    store.add('c', 9, 1);
    const expected = ['inf', 'c', 'b', 'g', 'a', 'ninf'];
    expect(expected.slice().sort()).toEqual(keys.slice().sort());
    for (const k of [expected.length - 1, expected.length, expected.length + 1]) {
      expect(store.top(k).map((r) => r.key)).toEqual(expected.slice(0, k));
    }
  });
});
