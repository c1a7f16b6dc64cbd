import { describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';

// The flat-scan paths of count/sum (src/partition/scan-kernels.ts): one loop per operator over the same or
// another value's column, count only, no filter, a time range; over an empty ring, capacity - 1, capacity,
// capacity + 1 and several wraps (a run split in two at the end of the slots), and with a hole in the middle
// (a purge of out-of-order timestamps: not every slot in the runs is live). Each answer against brute force
// over snapshot().

interface Ev {
  k: string;
  a: number;
  b: number;
  ts: number;
}

interface Big {
  k: string;
  a: number;
  b: number;
  ts: number;
}

const C = 8;
const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'] as const;
const test = (op: (typeof OPS)[number], y: number, x: number): boolean =>
  op === 'eq' ? y === x : op === 'ne' ? y !== x : op === 'gt' ? y > x : op === 'gte' ? y >= x : op === 'lt' ? y < x : y <= x;
// a repeats values (eq hits several), holds negatives and zeros; ts is out of order on purpose.
const ev = (i: number): Ev => ({ k: `k${i % 3}`, a: ((i * 7) % 11) - 3, b: i * 10 + 1, ts: 1000 + ((i * 5) % 13) });

async function check(store: EventStore<Ev, 'a' | 'b'>, label: string): Promise<void> {
  const snap = await store.snapshot();
  const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
  expect(await store.count(), label).toBe(snap.length);
  expect(await store.sum('a'), label).toBe(sum(snap.map((e) => e.values.a)));
  for (const op of OPS) {
    for (const x of [-3, 0, 2, 7, 100, -Infinity]) {
      const where = { values: { a: { [op]: x } } };
      const hit = snap.filter((e) => test(op, e.values.a, x));
      const what = `${label}: a ${op} ${x}`;
      expect(await store.count({ where }), what).toBe(hit.length);
      expect(await store.sum('a', { where }), what).toBe(sum(hit.map((e) => e.values.a)));
      expect(await store.sum('b', { where }), what).toBe(sum(hit.map((e) => e.values.b)));
    }
  }
  for (const [from, to] of [[1003, 1009], [0, 999], [1000, 1000], [-Infinity, 1004], [1010, Infinity]]) {
    const inRange = snap.filter((e) => e.timestamp >= from && e.timestamp <= to);
    const what = `${label}: [${from}, ${to}]`;
    expect(await store.count({ from, to }), what).toBe(inRange.length);
    expect(await store.sum('b', { from, to }), what).toBe(sum(inRange.map((e) => e.values.b)));
    const where = { values: { a: { lt: 2 } } };
    expect(await store.sum('b', { from, to, where }), what).toBe(sum(inRange.filter((e) => e.values.a < 2).map((e) => e.values.b)));
  }
}

describe('filtered scans (scan-kernels.ts) equal brute force', () => {
  it('every operator, same and other column, count only, ranges: empty, capacity - 1, capacity, capacity + 1, wrapped', async () => {
    const store = EventStore.create<Ev, 'a' | 'b'>({ capacity: C, partitions: 1, key: 'k', timestamp: 'ts', values: { a: 'a', b: 'b' } });
    try {
      let n = 0;
      for (const target of [0, C - 1, C, C + 1, 2 * C + 3, 3 * C]) {
        if (target > n) await store.append(Array.from({ length: target - n }, (_, j) => ev(n + j)));
        n = target;
        const live = store.stats.live;
        expect(live).toBe(Math.min(n, C));
        await check(store, `${n} appended`);
      }
    } finally {
      await store.close();
    }
  });

  it('with purged slots between live ones (not every slot in the runs live), wrapped', async () => {
    const store = EventStore.create<Ev, 'a' | 'b'>({ capacity: C, partitions: 1, key: 'k', timestamp: 'ts', values: { a: 'a', b: 'b' } });
    try {
      await store.append(Array.from({ length: C + 3 }, (_, j) => ev(j)));
      const before = (await store.snapshot()).map((e) => e.timestamp);
      const purged = await store.purge({ olderThan: 1005 });
      const after = await store.snapshot();
      expect(purged).toBe(before.filter((t) => t < 1005).length);
      // A hole in the middle: some live event sits at an older position than a purged one.
      expect(after.length).toBeGreaterThan(0);
      expect(after.length).toBeLessThan(before.length);
      await check(store, 'purged');
    } finally {
      await store.close();
    }
  });

  it('runs longer than a block (8192 slots, scan-kernels.ts): slot order kept across blocks and loop kinds, at the ring bounds', async () => {
    // Positions alternate, 5000 at a time, between values that all pass `lt 0`, a mix (about half, random order)
    // and values none passes, so the driver goes through the branchy and the branchless loops and back. The
    // values are not integers: a sum added in another order than the slots' differs in its last bits.
    const B = 8192;
    const cap = 3 * B + 5;
    const mix = (p: number): number => (((p * 2654435761) >>> 0) % 1000) / 100 - 5 + 0.1;
    const big = (p: number): Big => {
      const region = Math.floor(p / 5000) % 3;
      const a = region === 0 ? (p % 97 === 0 ? -0 : -0.3 - (p % 13) / 7) : region === 1 ? mix(p) : 7 + (p % 11) / 3;
      return { k: `k${p % 5}`, a, b: mix(p * 7 + 1) * 1e6 + 0.7, ts: p };
    };
    const store = EventStore.create<Big, 'a' | 'b'>({ capacity: cap, partitions: 1, key: 'k', timestamp: 'ts', values: { a: 'a', b: 'b' } });
    try {
      let n = 0;
      for (const target of [cap - 1, cap, cap + 1, 2 * cap + 1234]) {
        await store.append(Array.from({ length: target - n }, (_, j) => big(n + j)));
        n = target;
        expect(store.stats.live).toBe(Math.min(n, cap));
        // The timestamp is the position - 1, so snapshot() is in slot order from the head and the slot is ts % cap.
        const snap = await store.snapshot();
        const label = `${n} appended`;
        for (const op of OPS) {
          for (const x of [0, -0.3, 2, 7, -Infinity, Infinity]) {
            const where = { values: { a: { [op]: x } } };
            const hit = snap.filter((e) => test(op, e.values.a, x));
            const what = `${label}: a ${op} ${x}`;
            // In slot order within each run of slots; the runs' sums (two once the ring wraps) added after.
            let sa = 0;
            let sb = 0;
            let ra = 0;
            let rb = 0;
            for (const e of snap) {
              if (e.timestamp % cap === 0 && e !== snap[0]) {
                [sa, sb, ra, rb] = [sa + ra, sb + rb, 0, 0];
              }
              if (!test(op, e.values.a, x)) continue;
              ra += e.values.a;
              rb += e.values.b;
            }
            [sa, sb] = [sa + ra, sb + rb];
            expect(await store.count({ where }), what).toBe(hit.length);
            expect(await store.sum('a', { where }), what).toBe(sa);
            expect(await store.sum('b', { where }), what).toBe(sb);
          }
        }
      }
    } finally {
      await store.close();
    }
  });

  it('over two partitions, every operator', async () => {
    const store = EventStore.create<Ev, 'a' | 'b'>({ capacity: 4 * C, partitions: 2, key: 'k', timestamp: 'ts', values: { a: 'a', b: 'b' } });
    try {
      await store.append(Array.from({ length: 5 * C }, (_, j) => ev(j)));
      await check(store, '2 partitions');
    } finally {
      await store.close();
    }
  });
});
