import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';

interface Ev {
  k: string;
  t: string;
  v: number;
  ts: number;
}

const event = fc.record({
  k: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
  t: fc.constantFrom('x', 'y'),
  v: fc.integer({ min: -1000, max: 1000 }),
  ts: fc.integer({ min: 0, max: 2000 }), // out of order on purpose
});

describe('aggregates equal a brute-force computation over snapshot() (guarantee 4)', () => {
  it('holds for random data, ranges, filters and capacities (including 1)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { maxLength: 120 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        async (events, partitions, perPartition, a, b) => {
          const store = EventStore.create<Ev>({
            partitions,
            capacity: partitions * perPartition,
            key: 'k',
            type: 't',
            timestamp: 'ts',
            values: { v: 'v' },
          });
          try {
            if (events.length > 0) await store.append(events);
            const snap = await store.snapshot();
            // eviction keeps the newest perPartition events of each partition
            for (let p = 0; p < partitions; p++) {
              const inP = snap.filter((e) => e.partition === p);
              expect(inP.length).toBeLessThanOrEqual(perPartition);
            }
            const s = store.stats;
            expect(s.appended).toBe(events.length);
            expect(s.appended).toBe(s.live + s.discarded + s.rejected);
            expect(snap.length).toBe(s.live);
            const from = Math.min(a, b);
            const to = Math.max(a, b);
            const q = { from, to, where: { type: 'x' } };
            const model = snap.filter((e) => e.timestamp >= from && e.timestamp <= to && e.type === 'x').map((e) => e.values.v);
            expect(await store.count(q)).toBe(model.length);
            expect(await store.sum('v', q)).toBe(model.reduce((x, y) => x + y, 0));
            expect(await store.min('v', q)).toBe(model.length ? Math.min(...model) : null);
            expect(await store.max('v', q)).toBe(model.length ? Math.max(...model) : null);
            expect(await store.average('v', q)).toBeCloseTo(model.length ? model.reduce((x, y) => x + y, 0) / model.length : 0, 9);
            // the flat-scan path: time range and at most one comparison
            for (const op of ['gt', 'lte', 'ne'] as const) {
              const fast = { from, to, where: { values: { v: { [op]: 0 } } } };
              const test = (x: number): boolean => (op === 'gt' ? x > 0 : op === 'lte' ? x <= 0 : x !== 0);
              const vs = snap.filter((e) => e.timestamp >= from && e.timestamp <= to && test(e.values.v)).map((e) => e.values.v);
              expect(await store.count(fast)).toBe(vs.length);
              expect(await store.sum('v', fast)).toBe(vs.reduce((x, y) => x + y, 0));
              expect(await store.max('v', fast)).toBe(vs.length ? Math.max(...vs) : null);
            }
            expect(await store.count({ from, to })).toBe(snap.filter((e) => e.timestamp >= from && e.timestamp <= to).length);
            const groups = await store.groupBy('v', { keys: ['a', 'b'] });
            for (const key of ['a', 'b']) {
              const vs = snap.filter((e) => e.key === key).map((e) => e.values.v);
              if (vs.length === 0) expect(groups.has(key)).toBe(false);
              else expect(groups.get(key)).toMatchObject({ count: vs.length, sum: vs.reduce((x, y) => x + y, 0) });
            }
            const sorted = snap.map((e) => e.timestamp);
            expect([...sorted].sort((x, y) => x - y)).toEqual(sorted);
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 25, seed: 20261125 },
    );
  }, 120_000);
});
