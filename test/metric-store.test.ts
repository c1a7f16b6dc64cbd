import { describe, expect, it } from 'vitest';
import { codeOf } from './metric-store.helpers.js';
import { MetricStore, METRIC_MAX_CAPACITY } from '../dist/src/store/metric-store.js';
import { partitionOf } from '../dist/src/partition/hash.js';
import { metricLayout } from '../dist/src/store/metric-layout.js';


describe('MetricStore options', () => {
  it.each([
    ['capacity 0', { capacity: 0 }],
    ['negative capacity', { capacity: -5 }],
    ['fractional capacity', { capacity: 10.5 }],
    ['NaN capacity', { capacity: Number.NaN }],
    ['string capacity', { capacity: '10' }],
    ['missing capacity', {}],
    ['capacity over the maximum', { capacity: METRIC_MAX_CAPACITY + 1 }],
    ['partitions 0', { capacity: 10, partitions: 0 }],
    ['fractional partitions', { capacity: 10, partitions: 1.5 }],
    ['capacity < partitions', { capacity: 3, partitions: 4 }],
    ['unknown option', { capacity: 10, partition: 2 }],
    ['onDiscarded not a function', { capacity: 10, onDiscarded: 42 }],
    ['logger not a logger', { capacity: 10, logger: 42 }],
  ])('rejects %s with RS_ERR_INVALID_OPTION', (_name, options) => {
    expect(codeOf(() => MetricStore.create(options as never))).toBe('RS_ERR_INVALID_OPTION');
    expect(codeOf(() => new MetricStore(options as never))).toBe('RS_ERR_INVALID_OPTION');
  });

  it('rejects a missing options object', () => {
    expect(codeOf(() => MetricStore.create(undefined as never))).toBe('RS_ERR_INVALID_OPTION');
    expect(codeOf(() => MetricStore.create(null as never))).toBe('RS_ERR_INVALID_OPTION');
  });

  it('sizes the buffer of the largest documented capacity without 32-bit wrap-around', () => {
    // align8 used `& ~7`: 20 * 2^28 bytes wrapped to 1 GiB, and create({ capacity: 2^28 }) threw a bare RangeError
    for (const capacity of [METRIC_MAX_CAPACITY, 2 ** 27, 107_374_183]) {
      const l = metricLayout(capacity, 1);
      expect(l.byteLength).toBe(Math.ceil((16 + 20 * capacity) / 8) * 8);
      expect(l.keyIdOffset + 4 * capacity).toBeLessThanOrEqual(l.byteLength);
    }
  });

  it('defaults to one partition and splits capacity exactly', () => {
    expect(MetricStore.create({ capacity: 7 }).partitions).toBe(1);
    const store = MetricStore.create({ capacity: 10, partitions: 3 });
    expect(store.capacity).toBe(10);
    expect(store.stats.perPartition.map((p) => p.capacity)).toEqual([4, 3, 3]);
    expect(store.stats.capacity).toBe(10);
  });
});

describe('MetricStore.add validation', () => {
  it.each([
    ['NaN value', 'k', Number.NaN, 1],
    ['Infinity value', 'k', Infinity, 1],
    ['-Infinity value', 'k', -Infinity, 1],
    ['string value', 'k', '5', 1],
    ['NaN timestamp', 'k', 1, Number.NaN],
    ['Infinity timestamp', 'k', 1, Infinity],
  ])('%s throws RS_ERR_NON_FINITE and stores nothing', (_name, key, value, ts) => {
    const store = MetricStore.create({ capacity: 4 });
    expect(codeOf(() => store.add(key as string, value as number, ts as number))).toBe('RS_ERR_NON_FINITE');
    expect(store.stats.appended).toBe(0);
    expect(store.count()).toBe(0);
  });

  it.each([
    ['empty key', ''],
    ['number key', 42],
    ['undefined key', undefined],
    ['null key', null],
    ['key of 1,025 characters', 'k'.repeat(1025)],
    ['key of a million characters', 'k'.repeat(1_000_000)],
  ])('%s throws RS_ERR_INVALID_ARGUMENT and stores nothing', (_name, key) => {
    const store = MetricStore.create({ capacity: 4 });
    expect(codeOf(() => store.add(key as string, 1, 1))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.keyId(key as string))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.addMany(['ok', key as string], [1, 2], [1, 1]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(store.stats.appended).toBe(0);
    expect(store.keys()).toEqual([]);
    expect(store.stats.rememberedKeys).toBe(0);
  });

  it('takes keys up to 1,024 characters (as EventStore keys and the daemon\'s labels)', () => {
    const store = MetricStore.create({ capacity: 4 });
    store.add('k'.repeat(1024), 5, 1);
    store.addMany(['j'.repeat(1024)], [1], [1]);
    expect(store.sum('k'.repeat(1024))).toBe(5);
    expect(store.keys()).toEqual(['j'.repeat(1024), 'k'.repeat(1024)]);
    expect(codeOf(() => store.sum('k'.repeat(1025)))).toBe('RS_ERR_INVALID_ARGUMENT');
  });

  it('defaults the timestamp to Date.now()', () => {
    const store = MetricStore.create({ capacity: 4 });
    const before = Date.now();
    store.add('k', 1);
    const after = Date.now();
    expect(store.count('k', { from: before, to: after })).toBe(1);
    expect(store.count('k', { to: before - 1 })).toBe(0);
  });
});

describe('MetricStore aggregates', () => {
  function sample(): MetricStore {
    const store = MetricStore.create({ capacity: 100, partitions: 3 });
    store.add('a', 1, 10);
    store.add('b', 5, 20);
    store.add('a', 3, 30);
    store.add('c', -2, 40);
    store.add('a', 8, 5); // out of order
    return store;
  }

  it('computes count, sum, average, min and max, per key and overall', () => {
    const store = sample();
    expect(store.count()).toBe(5);
    expect(store.sum()).toBe(15);
    expect(store.average()).toBe(3);
    expect(store.min()).toBe(-2);
    expect(store.max()).toBe(8);
    expect(store.count('a')).toBe(3);
    expect(store.sum('a')).toBe(12);
    expect(store.average('a')).toBe(4);
    expect(store.min('a')).toBe(1);
    expect(store.max('a')).toBe(8);
    expect(store.aggregate('a')).toEqual({ count: 3, sum: 12, average: 4, min: 1, max: 8 });
  });

  it('treats from/to as inclusive and tests every event (out-of-order timestamps)', () => {
    const store = sample();
    expect(store.count({ from: 10, to: 30 })).toBe(3);
    expect(store.sum('a', { from: 10, to: 30 })).toBe(4);
    expect(store.sum('a', { from: 5, to: 5 })).toBe(8);
    expect(store.sum('a', { to: 9 })).toBe(8);
    expect(store.sum('a', { from: 6 })).toBe(4);
    expect(store.max('a', { from: 6 })).toBe(3);
    expect(store.sum(undefined, { from: 20, to: 40 })).toBe(store.sum({ from: 20, to: 40 }));
  });

  it('follows the reference for empty results', () => {
    const store = sample();
    for (const [key, range] of [
      ['zzz', undefined],
      ['a', { from: 100 }],
      [undefined, { from: 31, to: 39 }],
      [undefined, { from: 30, to: 10 }],
    ] as const) {
      expect(store.count(key, range)).toBe(0);
      expect(store.sum(key, range)).toBe(0);
      expect(store.average(key, range)).toBe(0);
      expect(store.min(key, range)).toBeNull();
      expect(store.max(key, range)).toBeNull();
      expect(store.aggregate(key, range)).toEqual({ count: 0, sum: 0, average: 0, min: null, max: null });
    }
    const empty = MetricStore.create({ capacity: 1 });
    expect(empty.aggregate()).toEqual({ count: 0, sum: 0, average: 0, min: null, max: null });
    expect(empty.top(3)).toEqual([]);
  });

  it('rejects invalid ranges and keys in queries', () => {
    const store = sample();
    expect(codeOf(() => store.sum('a', { from: Number.NaN }))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.sum('a', { to: '5' as never }))).toBe('RS_ERR_INVALID_ARGUMENT');
    // a misspelt end left the range open: every sample answered
    expect(codeOf(() => store.sum('a', { form: 5 } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.count({ too: 5 } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.top(1, { start: 5 } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.count('', {}))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.count(7 as never))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.top(-1))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.top(1.5))).toBe('RS_ERR_INVALID_ARGUMENT');
  });

  it('ranks top(k) by sum descending, ties by key, within the range', () => {
    const store = MetricStore.create({ capacity: 100, partitions: 2 });
    store.add('b', 5, 1);
    store.add('a', 5, 2);
    store.add('c', 9, 3);
    store.add('d', -1, 4);
    store.add('c', -8, 50);
    expect(store.top(10)).toEqual([
      { key: 'a', value: 5 },
      { key: 'b', value: 5 },
      { key: 'c', value: 1 },
      { key: 'd', value: -1 },
    ]);
    expect(store.top(2, { to: 10 })).toEqual([
      { key: 'c', value: 9 },
      { key: 'a', value: 5 },
    ]);
    expect(store.top(0)).toEqual([]);
    expect(store.top(5, { from: 100 })).toEqual([]);
  });
});

describe('MetricStore capacity and eviction', () => {
  it('capacity 1 keeps only the newest sample', () => {
    const store = MetricStore.create({ capacity: 1 });
    store.add('a', 1, 1);
    store.add('b', 2, 2);
    store.add('a', 3, 3);
    expect(store.aggregate()).toEqual({ count: 1, sum: 3, average: 3, min: 3, max: 3 });
    expect(store.keys()).toEqual(['a']);
    expect(store.stats).toMatchObject({ appended: 3, discarded: 2, live: 1, capacity: 1 });
  });

  it('evicts the oldest of the partition, and accounts exactly', () => {
    const partitions = 3;
    const store = MetricStore.create({ capacity: 9, partitions });
    const byPartition: number[][] = [[], [], []];
    for (let i = 0; i < 100; i++) {
      const key = `k${i % 7}`;
      store.add(key, i, 1000 - i);
      byPartition[partitionOf(key, partitions)].push(i);
    }
    const s = store.stats;
    expect(s.appended).toBe(100);
    expect(s.appended).toBe(s.live + s.discarded);
    expect(s.live).toBe(9);
    s.perPartition.forEach((p, i) => {
      expect(p.appended).toBe(byPartition[i].length);
      expect(p.live).toBe(Math.min(3, byPartition[i].length));
      expect(p.appended).toBe(p.live + p.discarded);
    });
    const expected = byPartition.flatMap((vals) => vals.slice(-3));
    expect(store.sum()).toBe(expected.reduce((a, b) => a + b, 0));
    expect(store.min()).toBe(Math.min(...expected));
  });

  it('routes each key by partitionOf', () => {
    const store = MetricStore.create({ capacity: 40, partitions: 4 });
    for (const key of ['x', 'y', 'zeta', 'sensor-17']) {
      const before = store.stats.perPartition.map((p) => p.appended);
      store.add(key, 1, 1);
      const after = store.stats.perPartition.map((p) => p.appended);
      const p = partitionOf(key, 4);
      expect(after[p]).toBe(before[p] + 1);
    }
  });

  it('passes the evicted sample, never the new one, to onDiscarded', () => {
    const seen: [string, number, number, number][] = [];
    const store = MetricStore.create({ capacity: 2, onDiscarded: (k, v, t, p) => seen.push([k, v, t, p]) });
    store.add('a', 1, 10);
    store.add('b', 2, 20);
    expect(seen).toEqual([]);
    store.add('c', 3, 30);
    store.add('d', 4, 40);
    expect(seen).toEqual([
      ['a', 1, 10, 0],
      ['b', 2, 20, 0],
    ]);
    expect(store.sum()).toBe(7);
  });

  it('keeps a throwing onDiscarded away from add()', async () => {
    const store = MetricStore.create({
      capacity: 1,
      onDiscarded: () => {
        throw new Error('boom');
      },
    });
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    store.add('a', 1, 1);
    expect(() => store.add('b', 2, 2)).not.toThrow();
    expect((await warned).message).toBe('boom');
    expect(store.stats).toMatchObject({ appended: 2, discarded: 1, live: 1 });
    expect(store.sum()).toBe(2);
  });

  it('keeps an async onDiscarded that rejects away from the process (a warning, not an unhandled rejection)', async () => {
    const store = MetricStore.create({ capacity: 1, onDiscarded: async () => { throw new Error('async boom'); } });
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    store.add('a', 1, 1);
    store.add('b', 2, 2);
    const w = await Promise.race([warned, new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
    expect(w?.message).toBe('async boom');
  });

  it('clear() empties the store, resets counters, keeps key ids', () => {
    const store = MetricStore.create({ capacity: 2, partitions: 2 });
    const id = store.keyId('a');
    store.add('a', 1, 1);
    store.add('b', 1, 1);
    store.add('a', 1, 1);
    store.clear();
    expect(store.count()).toBe(0);
    expect(store.keys()).toEqual([]);
    expect(store.stats).toMatchObject({ appended: 0, discarded: 0, live: 0 });
    expect(store.keyId('a')).toBe(id);
    store.addById(id, 5, 1);
    expect(store.sum('a')).toBe(5);
    expect(store.keys()).toEqual(['a']);
  });
});

describe('MetricStore keys, ids and batches', () => {
  it('keys() lists the keys with live samples, sorted; stats.keys counts them', () => {
    const store = MetricStore.create({ capacity: 2 });
    store.add('z', 1, 1);
    store.add('a', 1, 1);
    expect(store.keys()).toEqual(['a', 'z']);
    store.add('m', 1, 1);
    expect(store.keys()).toEqual(['a', 'm']);
    expect(store.stats.keys).toBe(2);
  });

  it('keyId/keyOf/addById', () => {
    const store = MetricStore.create({ capacity: 10, partitions: 2 });
    const a = store.keyId('a');
    const b = store.keyId('b');
    expect([a, b]).toEqual([0, 1]);
    expect(store.keyId('a')).toBe(a);
    expect(store.keyOf(b)).toBe('b');
    expect(store.keyOf(99)).toBeUndefined();
    store.addById(b, 4, 100);
    store.add('b', 6, 200);
    expect(store.sum('b')).toBe(10);
    expect(store.count('a')).toBe(0);
    for (const bad of [2, -1, 0.5, Number.NaN]) {
      expect(codeOf(() => store.addById(bad, 1, 1))).toBe('RS_ERR_INVALID_ARGUMENT');
    }
    expect(codeOf(() => store.addById(a, Number.NaN, 1))).toBe('RS_ERR_NON_FINITE');
    expect(store.stats.appended).toBe(2);
  });

  it('addMany stores in order, or nothing when any element is invalid', () => {
    const store = MetricStore.create({ capacity: 3 });
    store.addMany(['a', 'b', 'a', 'c'], [1, 2, 3, 4], [1, 2, 3, 4]);
    expect(store.sum()).toBe(9);
    expect(store.stats).toMatchObject({ appended: 4, discarded: 1 });
    expect(codeOf(() => store.addMany(['a', 'b'], [1, Number.NaN], [1, 2]))).toBe('RS_ERR_NON_FINITE');
    expect(codeOf(() => store.addMany(['a', 'b'], [1, 2], [1, Infinity]))).toBe('RS_ERR_NON_FINITE');
    expect(codeOf(() => store.addMany(['a', ''], [1, 2]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.addMany(['a'], [1, 2]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => store.addMany(['a', 'b'], [1, 2], [1]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(store.stats.appended).toBe(4);
    const before = Date.now();
    store.addMany(new Array(3).fill('t'), new Float64Array([1, 2, 3]));
    expect(store.count('t', { from: before })).toBe(3);
  });
});

// The benchmark (the harness's `metric` scenario) runs in test/harness/scenarios.test.ts; the example of
// docs/metric-store.md in test/docs/docs.test.ts.
