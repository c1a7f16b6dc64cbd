/**
 * MetricStore's memory follows its live samples (issue 10, item 4): keys are
 * forgotten once idle beyond `maxRememberedKeys`, their ids reused, and ids
 * handed out by keyId() are pinned and generation-checked.
 */
import { describe, expect, it } from 'vitest';
import { heapUsed } from './heap.helpers.js';
import { codeOf } from './metric-store.helpers.js';
import { MetricStore } from '../dist/src/store/metric-store.js';
import { partitionOf } from '../dist/src/partition/hash.js';


/** `n` distinct keys that route to partition `p` of `partitions`. */
function keysOf(p: number, partitions: number, n: number, prefix = 'k'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (partitionOf(`${prefix}${i}`, partitions) === p) out.push(`${prefix}${i}`);
  return out;
}

describe('MetricStore memory follows the live keys', () => {
  it('1M distinct keys into a 1,000-sample store: bounded heap, key table and per-key query arrays', () => {
    const capacity = 1000;
    const store = MetricStore.create({ capacity, partitions: 4 });
    const before = heapUsed();
    for (let i = 0; i < 1_000_000; i++) store.add(`key-${i}`, i, i);
    const grown = heapUsed() - before;
    // The live samples: the newest of each partition.
    const newest: number[][] = [[], [], [], []];
    for (let i = 999_999; i >= 0 && newest.some((n, p) => n.length < store.stats.perPartition[p].capacity); i--) {
      const n = newest[partitionOf(`key-${i}`, 4)];
      if (n.length < 250) n.push(i);
    }
    // Before the fix the store kept every key ever seen: about 80 MB here.
    expect(grown).toBeLessThan(8e6);
    const stats = store.stats;
    expect(stats.keys).toBe(capacity);
    // Default maxRememberedKeys: max(2 · capacity, capacity + 1024).
    expect(stats.rememberedKeys).toBeLessThanOrEqual(capacity + 1024);
    expect(stats.keyIdSpan).toBeLessThanOrEqual(capacity + 1024);
    // The live samples are the last 1,000 keys: exactly what the queries see.
    const keys = store.keys();
    expect(keys.length).toBe(capacity);
    expect(store.top(5000).length).toBe(capacity);
    expect(keys).toEqual(newest.flat().map((i) => `key-${i}`).sort());
    expect(store.count('key-0')).toBe(0);
    expect(store.sum()).toBe(newest.flat().reduce((x, y) => x + y, 0));
    expect(store.top(1)).toEqual([{ key: 'key-999999', value: 999_999 }]);
  });

  it('a store that stays full of one key forgets every other key and keeps its id space small', () => {
    const store = MetricStore.create({ capacity: 8 }); // maxRememberedKeys: 8 + 1024
    for (let i = 0; i < 10_000; i++) {
      store.add(`burst-${i}`, 1, i);
      store.add('hot', 1, i);
    }
    for (let i = 0; i < 8; i++) store.add('hot', 1, 20_000 + i);
    const s = store.stats;
    expect(store.keys()).toEqual(['hot']);
    expect(s.keys).toBe(1);
    expect(s.rememberedKeys).toBeLessThanOrEqual(8 + 1024);
    expect(s.keyIdSpan).toBeLessThanOrEqual(8 + 1024);
    expect(store.top(10_000)).toEqual([{ key: 'hot', value: 8 }]);
  });
});

describe('MetricStore bounds (capacity and maxRememberedKeys, -1 / = / +1)', () => {
  it.each([
    ['capacity - 1', -1],
    ['capacity', 0],
    ['capacity + 1', 1],
  ])('%s distinct keys in one partition: the oldest key goes only past capacity', (_name, delta) => {
    const partitions = 3;
    const store = MetricStore.create({ capacity: 10, partitions });
    const p = 1;
    const cap = store.stats.perPartition[p].capacity;
    expect(cap).toBe(3);
    const keys = keysOf(p, partitions, cap + delta);
    keys.forEach((k, i) => store.add(k, i + 1, i));
    const live = delta > 0 ? keys.slice(1) : keys;
    expect(store.keys()).toEqual([...live].sort());
    expect(store.stats.keys).toBe(live.length);
    expect(store.stats.perPartition[p]).toMatchObject({ live: Math.min(cap, keys.length), discarded: Math.max(0, delta) });
    expect(store.count(keys[0])).toBe(delta > 0 ? 0 : 1);
    expect(store.top(10).map((r) => r.key).sort()).toEqual([...live].sort());
    // Other partitions are untouched.
    expect(store.stats.perPartition[0].appended + store.stats.perPartition[2].appended).toBe(0);
  });

  it('remembers up to maxRememberedKeys keys, and the next new key sweeps the idle ones', () => {
    const capacity = 4;
    const maxRememberedKeys = 6;
    const store = MetricStore.create({ capacity, maxRememberedKeys });
    const remembered: number[] = [];
    for (let i = 0; i < maxRememberedKeys + 1; i++) {
      store.add(`k${i}`, i, i);
      remembered.push(store.stats.rememberedKeys);
    }
    // maxRememberedKeys - 1, maxRememberedKeys, then + 1: the sweep forgets k0..k1
    // (idle), keeps k2..k5 (live), adds k6, whose sample evicts k2.
    expect(remembered).toEqual([1, 2, 3, 4, 5, 6, 5]);
    expect(store.keys()).toEqual(['k3', 'k4', 'k5', 'k6']);
    expect(store.stats.keyIdSpan).toBe(6);
    // A forgotten key is just unknown, and comes back as a new key.
    expect(store.aggregate('k0')).toEqual({ count: 0, sum: 0, average: 0, min: null, max: null });
    store.add('k0', 100, 100);
    expect(store.sum('k0')).toBe(100);
    expect(store.stats.keyIdSpan).toBeLessThanOrEqual(maxRememberedKeys);
  });

  it('validates maxRememberedKeys: an integer in [capacity + 1, 2^29]', () => {
    for (const bad of [10, 9, 0, -1, 10.5, Number.NaN, '20', 2 ** 29 + 1]) {
      expect(codeOf(() => MetricStore.create({ capacity: 10, maxRememberedKeys: bad as number }))).toBe('RS_ERR_INVALID_OPTION');
    }
    expect(MetricStore.create({ capacity: 10, maxRememberedKeys: 11 }).stats.rememberedKeys).toBe(0);
    expect(() => MetricStore.create({ capacity: 10, maxRememberedKeys: 2 ** 29 })).not.toThrow();
  });
});

describe('MetricStore ids: pinned, released, never reused for another key', () => {
  it('a released id is refused once its slot serves another key, and never names it', () => {
    const store = MetricStore.create({ capacity: 1, maxRememberedKeys: 2 });
    const a = store.keyId('a');
    store.addById(a, 5, 1);
    expect(store.releaseKeyId(a)).toBe(true);
    store.add('x', 1, 2); // evicts a's sample: 'a' is idle
    store.add('b', 7, 3); // a third unpinned key: the sweep forgets 'a', 'b' takes its slot
    expect(store.count('a')).toBe(0);
    const b = store.keyId('b');
    expect(b >>> 0).toBe(a >>> 0); // the same slot (id = generation · 2^32 + slot) ...
    expect(b).not.toBe(a); // ... under another id
    expect(codeOf(() => store.addById(a, 1000, 4))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(store.keyOf(a)).toBeUndefined();
    expect(store.keyOf(b)).toBe('b');
    expect(store.releaseKeyId(a)).toBe(false);
    expect(store.aggregate('b')).toEqual({ count: 1, sum: 7, average: 7, min: 7, max: 7 });
    expect(store.top(10)).toEqual([{ key: 'b', value: 7 }]);
    expect(store.count('a')).toBe(0);
    expect(store.stats.appended).toBe(3);
  });

  it('re-pinning a key gives it a new id; the old one stays refused', () => {
    const store = MetricStore.create({ capacity: 4 });
    const first = store.keyId('a');
    expect(store.keyId('a')).toBe(first);
    store.releaseKeyId(first);
    const second = store.keyId('a');
    expect(second).not.toBe(first);
    expect(codeOf(() => store.addById(first, 1, 1))).toBe('RS_ERR_INVALID_ARGUMENT');
    store.addById(second, 2, 2);
    expect(store.sum('a')).toBe(2);
  });

  it('a pinned key is remembered with no live sample, through evictions and clear()', () => {
    const store = MetricStore.create({ capacity: 2, maxRememberedKeys: 3 });
    const a = store.keyId('a');
    store.addById(a, 1, 1);
    for (let i = 0; i < 100; i++) store.add(`x${i}`, 1, i);
    expect(store.count('a')).toBe(0);
    expect(store.keyOf(a)).toBe('a');
    store.clear();
    expect(store.stats).toMatchObject({ keys: 0, pinnedKeys: 1, rememberedKeys: 1 });
    expect(store.keyId('a')).toBe(a);
    store.addById(a, 3, 3);
    expect(store.sum('a')).toBe(3);
  });

  it('clear() forgets unpinned keys; a key released after clear() is forgotten by the next sweep', () => {
    const store = MetricStore.create({ capacity: 4, maxRememberedKeys: 5 });
    const pinned = store.keyId('p');
    store.add('u', 1, 1);
    store.addById(pinned, 1, 1);
    store.clear();
    expect(store.stats).toMatchObject({ keys: 0, pinnedKeys: 1, rememberedKeys: 1, keyIdSpan: 1 });
    expect(store.releaseKeyId(pinned)).toBe(true);
    expect(store.stats).toMatchObject({ pinnedKeys: 0, rememberedKeys: 1 });
    for (let i = 0; i < 6; i++) store.add(`n${i}`, 1, i);
    expect(store.count('p')).toBe(0);
    expect(store.stats.rememberedKeys).toBeLessThanOrEqual(5);
    expect(codeOf(() => store.addById(pinned, 1, 1))).toBe('RS_ERR_INVALID_ARGUMENT');
  });

  it('pins are not counted against maxRememberedKeys and are never swept', () => {
    const store = MetricStore.create({ capacity: 2, maxRememberedKeys: 3 });
    const ids = Array.from({ length: 50 }, (_, i) => store.keyId(`pin-${i}`));
    for (let i = 0; i < 1000; i++) store.add(`churn-${i}`, 1, i);
    expect(store.stats.pinnedKeys).toBe(50);
    expect(store.stats.rememberedKeys).toBeLessThanOrEqual(53);
    ids.forEach((id, i) => expect(store.keyOf(id)).toBe(`pin-${i}`));
    // Releasing them all leaves them idle, then forgotten.
    for (const id of ids) store.releaseKeyId(id);
    expect(store.stats.rememberedKeys).toBeLessThanOrEqual(3);
    expect(store.stats.keyIdSpan).toBeLessThanOrEqual(53);
  });

  it('after 2^21 releases a slot is retired: the key moves with its samples, every old id stays refused', () => {
    const store = MetricStore.create({ capacity: 8, partitions: 2 });
    store.add('a', 1, 1);
    store.add('a', 2, 2);
    const seen = new Set<number>();
    let last = -1;
    let unsafe = 0;
    let refusedRelease = 0;
    const sampled: number[] = [];
    for (let i = 0; i <= 2 ** 21; i++) {
      last = store.keyId('a');
      seen.add(last);
      if (!Number.isSafeInteger(last)) unsafe++;
      if (i % 65_536 === 0) sampled.push(last);
      if (!store.releaseKeyId(last)) refusedRelease++;
    }
    expect(seen.size).toBe(2 ** 21 + 1);
    expect(unsafe).toBe(0);
    expect(refusedRelease).toBe(0);
    // The last id is on a fresh slot; the samples followed it.
    expect(last >>> 0).not.toBe(sampled[0] >>> 0);
    const id = store.keyId('a');
    store.addById(id, 4, 4);
    expect(store.sum('a')).toBe(7);
    expect(store.count('a')).toBe(3);
    for (const old of sampled) expect(codeOf(() => store.addById(old, 100, 5))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(store.sum()).toBe(7);
  });

  it('validates ids with typed errors', () => {
    const store = MetricStore.create({ capacity: 4 });
    const a = store.keyId('a');
    for (const bad of [-1, 0.5, Number.NaN, Infinity, 2 ** 53, '0', null, undefined]) {
      expect(codeOf(() => store.keyOf(bad as number))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(codeOf(() => store.releaseKeyId(bad as number))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(codeOf(() => store.addById(bad as number, 1, 1))).toBe('RS_ERR_INVALID_ARGUMENT');
    }
    // A well-formed id that was never issued: refused by addById, unknown to keyOf.
    for (const never of [1, 2 ** 32 + a, 12345]) {
      expect(codeOf(() => store.addById(never, 1, 1))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(store.keyOf(never)).toBeUndefined();
      expect(store.releaseKeyId(never)).toBe(false);
    }
    expect(store.stats.appended).toBe(0);
    expect(store.keyOf(a)).toBe('a');
  });
});
