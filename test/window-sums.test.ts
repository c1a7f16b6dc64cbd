// windowAggregate sums after evictions and purges (src/partition/window-buckets.ts): a bucket's sum
// is kept by adding and subtracting, which is exact only while no addition rounded or overflowed.
// Found by test/queries.property.test.ts (seed 1002484252): the sum of a bucket that had rounded
// kept the evicted event's share, or stayed at ±Infinity after the events that overflowed it left.
import { describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';

interface Ev { k: string; ts: number; x: number }

async function windowAfter(events: number[], capacity: number, purgeBefore?: number): Promise<unknown> {
  const store = EventStore.create<Ev>({
    partitions: 1, capacity, key: 'k', timestamp: 'ts', values: { x: 'x' }, window: { sizeMs: 10, bucketMs: 10 },
  });
  try {
    // One bucket: every event at a time in [0, 10), the oldest first (the ones a small capacity evicts).
    await store.append(events.map((x, i) => ({ k: 'a', ts: i, x })));
    if (purgeBefore !== undefined) await store.purge({ olderThan: purgeBefore });
    return { window: await store.windowAggregate('x'), ranged: await store.windowAggregate('x', { from: 0, to: 9 }), live: await store.sum('x') };
  } finally {
    await store.close();
  }
}

describe('windowAggregate sums describe the live events', () => {
  it('a sum that overflowed to Infinity comes back once an overflowing event is evicted', async () => {
    const r = await windowAfter([1e308, 1e308, 1], 2);
    expect(r).toMatchObject({ live: 1e308, window: { count: 2, sum: 1e308, max: 1e308, min: 1 }, ranged: { sum: 1e308 } });
  });

  it('a rounded sum is not left with the evicted share (-1 + -1e-300, then -1 evicted)', async () => {
    const r = await windowAfter([-1, -1e-300, 0], 2);
    expect(r).toMatchObject({ live: -1e-300, window: { count: 2, sum: -1e-300, avg: -5e-301 }, ranged: { sum: -1e-300 } });
  });

  it('the same after a purge', async () => {
    const r = await windowAfter([1e308, 1e308, 5], 3, 1);
    expect(r).toMatchObject({ live: 1e308, window: { count: 2, sum: 1e308 }, ranged: { sum: 1e308 } });
  });
});

describe('window buckets keep compensated sums (no rescan for a rounded sum)', () => {
  const at = (vals: number[]) => new Float64Array(vals);
  it('removing values from a rounded sum gives the live sum back without marking the bucket for a rescan', async () => {
    const { WindowBuckets } = await import('../dist/src/partition/window-buckets.js');
    const b = new WindowBuckets(10, 1, 1);
    const xs = [0.1, 0.2, 0.3, 12.34, 1e-9, 7.77];
    xs.forEach((x, i) => b.add(i, at([x]), 0, 1));
    // Evict the middle values (not the min 1e-9 nor the max 12.34): the sum rounded on the way in.
    b.remove(1, at([0.2]), 0, 1);
    b.remove(2, at([0.3]), 0, 1);
    b.remove(5, at([7.77]), 0, 1);
    expect(b.needsRescan(0, 9)).toBe(false);
    expect(b.query(0, 9).perValue[0].sum).toBe(0.1 + 12.34 + 1e-9);
  });

  it('a middle value leaves no share behind in a large sum (1e16 + 1 + 3 + 2, then 3 and 2 removed: 1e16 + 1)', async () => {
    const { WindowBuckets } = await import('../dist/src/partition/window-buckets.js');
    const b = new WindowBuckets(10, 1, 1);
    [1, 1e16, 3, 2.5, 1.5].forEach((x, i) => b.add(i, at([x]), 0, 1));
    b.remove(2, at([3]), 0, 1);
    b.remove(3, at([2.5]), 0, 1);
    expect(b.needsRescan(0, 9)).toBe(false);
    expect(b.query(0, 9).perValue[0].sum).toBe(1e16 + 2.5); // 1 + 1e16 + 1.5, exactly representable
  });

  it('an overflowed sum asks for a rescan at the next removal', async () => {
    const { WindowBuckets } = await import('../dist/src/partition/window-buckets.js');
    const b = new WindowBuckets(10, 1, 1);
    [1, 1e308, 1e308, 2, 5].forEach((x, i) => b.add(i, at([x]), 0, 1));
    expect(b.query(0, 9).perValue[0].sum).toBe(Infinity);
    b.remove(3, at([2]), 0, 1);
    expect(b.needsRescan(0, 9)).toBe(true);
  });
});
