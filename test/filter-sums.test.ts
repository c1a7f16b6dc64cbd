// Sums with a `filter` add in the workers' order (src/store/filter-sums.ts): each partition's events by
// position, then the partitions in order. Found by reasoning from test/queries.property.test.ts's model
// (floating-point sums depend on order): in merged order, 1e308 (p0), -1e308 (p1), 1e308 (p0) adds up to
// 1e308, while the workers give Infinity + -1e308 = Infinity; so a filter that keeps every event changed
// sum, average and groupBy, and top ranked the key differently.
import { describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';

describe('a filter that keeps every event changes no sum', () => {
  it('sum, average, groupBy and top with filter: () => true equal the same queries without it', async () => {
    const store = EventStore.create<{ k: string; ts: number; x: number }>({ partitions: 2, key: 'k', timestamp: 'ts', values: { x: 'x' } });
    try {
      // Key 'a' placed in both partitions; merged order interleaves them (ts 1, 2, 3).
      await store.append({ k: 'a', ts: 1, x: 1e308 }, { partition: 0 });
      await store.append({ k: 'a', ts: 2, x: -1e308 }, { partition: 1 });
      await store.append({ k: 'a', ts: 3, x: 1e308 }, { partition: 0 });
      // Within a partition too: by position, not by timestamp (ts 0 is position 4 of partition 1).
      await store.append({ k: 'b', ts: 5, x: 1e308 }, { partition: 1 });
      await store.append({ k: 'b', ts: 6, x: 1e308 }, { partition: 1 });
      await store.append({ k: 'b', ts: 0, x: -1e308 }, { partition: 1 });
      const all = { filter: () => true };
      const plain = {
        sum: await store.sum('x'), average: await store.average('x'),
        groups: [...(await store.groupBy('x'))], top: await store.top(2, 'x'),
      };
      // a: p0 adds 1e308 + 1e308 = Infinity, then p1's -1e308; b: 1e308 + 1e308 = Infinity by position.
      expect(plain.groups.map(([k, g]) => [k, g.sum]).sort()).toEqual([['a', Infinity], ['b', Infinity]]);
      expect(plain.sum).toBe(Infinity);
      const filtered = {
        sum: await store.sum('x', all), average: await store.average('x', all),
        groups: [...(await store.groupBy('x', all))], top: await store.top(2, 'x', all),
      };
      expect({ ...filtered, groups: filtered.groups.sort() }).toEqual({ ...plain, groups: plain.groups.sort() });
      expect(plain.top).toEqual([{ key: 'a', value: Infinity }, { key: 'b', value: Infinity }]);
    } finally {
      await store.close();
    }
  });
});
