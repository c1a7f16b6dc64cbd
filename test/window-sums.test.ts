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
