// MetricStore min/max of -0 and 0 follow Math.min/Math.max: min(0, -0) is -0, max(-0, 0) is 0,
// in one partition or across partitions, in either order of adds. Checked with Object.is. Failed before the fix (scanMinMax kept the first zero).
import { describe, expect, it } from 'vitest';
import { MetricStore } from '../dist/src/store/metric-store.js';
import { keysByPartition } from './partition-keys.helpers.js';

const isNegZero = (x: number | null): boolean => x !== null && Object.is(x, -0);
const isPosZero = (x: number | null): boolean => x !== null && Object.is(x, 0);


function expectZeros(store: MetricStore, key?: string): void {
  const min = key === undefined ? store.min() : store.min(key);
  const max = key === undefined ? store.max() : store.max(key);
  const agg = key === undefined ? store.aggregate() : store.aggregate(key);
  expect(isNegZero(min), `min is -0 (got ${Object.is(min, 0) ? '+0' : String(min)})`).toBe(true);
  expect(isPosZero(max), `max is +0 (got ${Object.is(max, -0) ? '-0' : String(max)})`).toBe(true);
  expect(isNegZero(agg.min), 'aggregate().min is -0').toBe(true);
  expect(isPosZero(agg.max), 'aggregate().max is +0').toBe(true);
}

describe('MetricStore min/max of -0 and 0', () => {
  it.each([
    ['0 then -0', 0, -0],
    ['-0 then 0', -0, 0],
  ])('one key, one partition (%s)', (_name, a, b) => {
    const store = MetricStore.create({ capacity: 8 });
    store.add('k', a, 1);
    store.add('k', b, 2);
    expectZeros(store, 'k');
    expectZeros(store);
  });

  it.each([
    ['+0 in partition 0, -0 in partition 1', 0, -0],
    ['-0 in partition 0, +0 in partition 1', -0, 0],
  ])('across partitions (%s)', (_name, x0, x1) => {
    const store = MetricStore.create({ capacity: 8, partitions: 2 });
    const [k0, k1] = keysByPartition(2);
    // Added in both orders of partitions: the scan folds partition 0 first either way.
    store.add(k1, x1, 1);
    store.add(k0, x0, 2);
    expectZeros(store);
  });

  it('a range that holds both zeros, through addMany', () => {
    const store = MetricStore.create({ capacity: 8, partitions: 2 });
    const [k0, k1] = keysByPartition(2);
    store.addMany([k0, k1, k0, k1], [0, -0, 5, -5], [1, 2, 10, 10]);
    const r = { from: 0, to: 5 };
    expect(isNegZero(store.min(r))).toBe(true);
    expect(isPosZero(store.max(r))).toBe(true);
  });

  it('only -0: min and max are -0; only +0: both +0', () => {
    const neg = MetricStore.create({ capacity: 8, partitions: 2 });
    const pos = MetricStore.create({ capacity: 8, partitions: 2 });
    for (const k of keysByPartition(2)) {
      neg.add(k, -0, 1);
      pos.add(k, 0, 1);
    }
    expect(isNegZero(neg.min()) && isNegZero(neg.max())).toBe(true);
    expect(isPosZero(pos.min()) && isPosZero(pos.max())).toBe(true);
  });
});
