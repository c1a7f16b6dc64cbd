// min/max of -0 and 0 follow Math.min/Math.max: min(0, -0) is -0 and max(-0, 0) is 0,
// whichever partition each zero is in and whichever order they were appended or merged in.
// Checked with Object.is (said explicitly: == and toEqual cannot tell -0 from 0). Each store has a
// window so that windowAggregate's buckets are checked too. These failed before the fix (the
// partitions kept whichever zero they met first; the filter path on the coordinator did too).
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';
import { keysByPartition } from './partition-keys.helpers.js';

interface Ev {
  k: string;
  n: number;
  ts: number;
}

const stores: EventStore<Ev, 'n'>[] = [];
function make(partitions: number): EventStore<Ev, 'n'> {
  const s = EventStore.create<Ev, 'n'>({
    capacity: 64, partitions, key: 'k', timestamp: 'ts', values: { n: 'n' }, window: { sizeMs: 1000, bucketMs: 100 },
  });
  stores.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});


const isNegZero = (x: number | null): boolean => x !== null && Object.is(x, -0);
const isPosZero = (x: number | null): boolean => x !== null && Object.is(x, 0);

/** min and max by every path the store has: the scan, the key index, a value comparison, a filter (coordinator), groupBy, the window. */
async function extremes(store: EventStore<Ev, 'n'>, keys: string[]): Promise<Record<string, [number | null, number | null]>> {
  const q = { keys };
  const cmp = { where: { values: { n: { lte: 0 } } } };
  const f = { filter: () => true };
  const groups = await store.groupBy('n');
  const g = [...groups.values()].reduce((a, b) => ({ min: Math.min(a.min!, b.min!), max: Math.max(a.max!, b.max!) }), { min: Infinity, max: -Infinity });
  const w = await store.windowAggregate('n', { from: 0, to: 1000 });
  return {
    scan: [await store.min('n'), await store.max('n')],
    keys: [await store.min('n', q), await store.max('n', q)],
    compare: [await store.min('n', cmp), await store.max('n', cmp)],
    filter: [await store.min('n', f), await store.max('n', f)],
    groupBy: [g.min, g.max],
    window: [w.min, w.max],
  };
}

function expectZeros(got: Record<string, [number | null, number | null]>): void {
  for (const [path, [min, max]] of Object.entries(got)) {
    expect(isNegZero(min), `${path}: min is -0 (got ${Object.is(min, 0) ? '+0' : String(min)})`).toBe(true);
    expect(isPosZero(max), `${path}: max is +0 (got ${Object.is(max, -0) ? '-0' : String(max)})`).toBe(true);
  }
}

describe('EventStore min/max of -0 and 0', () => {
  it.each([
    ['0 then -0', [0, -0]],
    ['-0 then 0', [-0, 0]],
  ])('in the same partition (%s)', async (_name, [a, b]) => {
    const store = make(1);
    await store.append([{ k: 'a', n: a, ts: 1 }, { k: 'a', n: b, ts: 2 }]);
    expectZeros(await extremes(store, ['a']));
  });

  it('in the same partition, same key-group of one key each (groupBy per key)', async () => {
    const store = make(1);
    await store.append([{ k: 'a', n: 0, ts: 1 }, { k: 'a', n: -0, ts: 2 }, { k: 'b', n: -0, ts: 3 }, { k: 'b', n: 0, ts: 4 }]);
    const groups = await store.groupBy('n');
    for (const k of ['a', 'b']) {
      expect(isNegZero(groups.get(k)!.min), `${k} min`).toBe(true);
      expect(isPosZero(groups.get(k)!.max), `${k} max`).toBe(true);
    }
  });

  it.each([
    ['+0 in partition 0, -0 in partition 1', 0, -0],
    ['-0 in partition 0, +0 in partition 1', -0, 0],
  ])('in different partitions (%s)', async (_name, x0, x1) => {
    const store = make(2);
    const [k0, k1] = keysByPartition(2);
    await store.append([{ k: k0, n: x0, ts: 1 }, { k: k1, n: x1, ts: 2 }]);
    expectZeros(await extremes(store, [k0, k1]));
  });

  it('one key placed in both partitions: groupBy merges its zeros as Math.min/Math.max do', async () => {
    const store = make(2);
    await store.append({ k: 'a', n: 0, ts: 1 }, { partition: 0 });
    await store.append({ k: 'a', n: -0, ts: 2 }, { partition: 1 });
    await store.append({ k: 'b', n: -0, ts: 1 }, { partition: 0 });
    await store.append({ k: 'b', n: 0, ts: 2 }, { partition: 1 });
    const groups = await store.groupBy('n');
    for (const k of ['a', 'b']) {
      expect(isNegZero(groups.get(k)!.min), `${k} min`).toBe(true);
      expect(isPosZero(groups.get(k)!.max), `${k} max`).toBe(true);
    }
  });

  it('only -0: min and max are both -0; only +0: both +0', async () => {
    const store = make(2);
    const [k0, k1] = keysByPartition(2);
    await store.append([{ k: k0, n: -0, ts: 1 }, { k: k1, n: -0, ts: 2 }]);
    expect(isNegZero(await store.min('n'))).toBe(true);
    expect(isNegZero(await store.max('n'))).toBe(true);
    const other = make(2);
    await other.append([{ k: k0, n: 0, ts: 1 }, { k: k1, n: 0, ts: 2 }]);
    expect(isPosZero(await other.min('n'))).toBe(true);
    expect(isPosZero(await other.max('n'))).toBe(true);
  });
});
