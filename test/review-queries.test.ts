// Review of the query paths: each test failed on 75036d8.
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';
import { keysByPartition } from './partition-keys.helpers.js';

interface Ev {
  k: string;
  n: number;
  ts: number;
}

const stores: EventStore<Ev>[] = [];
function make(partitions: number): EventStore<Ev> {
  const s = EventStore.create<Ev>({ capacity: 64, partitions, key: 'k', timestamp: 'ts', values: { n: 'n' } });
  stores.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});


describe('query.partitions', () => {
  it('an empty partition list matches nothing (not a TypeError from reducing an empty array)', async () => {
    const store = make(2);
    await store.append({ k: 'a', n: 1, ts: 1 });
    expect(await store.count({ partitions: [] })).toBe(0);
    expect(await store.sum('n', { partitions: [] })).toBe(0);
    expect(await store.min('n', { partitions: [] })).toBeNull();
    expect(await store.snapshot({ partitions: [] })).toEqual([]);
  });

  it('a partition named twice is counted once', async () => {
    const store = make(2);
    const [k0] = keysByPartition(2);
    await store.append({ k: k0, n: 5, ts: 1 });
    expect(await store.count({ partitions: [0, 0] })).toBe(1);
    expect(await store.sum('n', { partitions: [0, 0] })).toBe(5);
    expect(await store.snapshot({ partitions: [0, 0] })).toHaveLength(1);
    expect([...(await store.groupBy('n', { partitions: [0, 0] })).values()].map((g) => g.count)).toEqual([1]);
  });

  it('merge order is timestamp, then partition, whatever order the partitions are listed in', async () => {
    const store = make(2);
    const [k0, k1] = keysByPartition(2);
    await store.append([{ k: k1, n: 1, ts: 7 }, { k: k0, n: 0, ts: 7 }]);
    const all = await store.snapshot();
    expect(all.map((e) => e.partition)).toEqual([0, 1]);
    const listed = await store.snapshot({ partitions: [1, 0] });
    expect(listed.map((e) => e.partition)).toEqual([0, 1]);
  });
});

describe('query.limit with a filter', () => {
  it('limit 0 returns no event from snapshot() and events()', async () => {
    const store = make(1);
    await store.append([{ k: 'a', n: 1, ts: 1 }, { k: 'b', n: 2, ts: 2 }]);
    expect(await store.snapshot({ limit: 0 })).toEqual([]);
    expect(await store.snapshot({ limit: 0, filter: () => true })).toEqual([]);
    const seen = [];
    for await (const e of store.events({ limit: 0, filter: () => true })) seen.push(e);
    expect(seen).toEqual([]);
  });
});

describe('range validation outside toWireQuery', () => {
  it('windowAggregate refuses a non-number range end with RS_ERR_INVALID_ARGUMENT', async () => {
    const s = EventStore.create<Ev>({ capacity: 64, partitions: 1, key: 'k', timestamp: 'ts', values: { n: 'n' }, window: { sizeMs: 40, bucketMs: 10 } });
    stores.push(s);
    await s.append({ k: 'a', n: 1, ts: 5 });
    await expect(s.windowAggregate('n', { from: 'abc' as unknown as number })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    await expect(s.windowAggregate('n', { form: 0 } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/range\.form is not a range option/) });
  });

  it('StoreReader.snapshot refuses a non-number range end and a null range with RS_ERR_INVALID_ARGUMENT', async () => {
    const store = make(1);
    await store.append([{ k: 'a', n: 1, ts: 1 }, { k: 'a', n: 2, ts: 2 }]);
    const reader = store.reader();
    try {
      expect(() => reader.snapshot({ from: 'abc' as unknown as number })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
      expect(() => reader.snapshot(null as unknown as {})).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
      expect(() => reader.snapshot({ form: 2 } as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    } finally {
      reader.close();
    }
  });
});

describe('query.limit on aggregates', () => {
  it('limit is for snapshot/events only: count/sum/groupBy with a filter ignore it, as without one', async () => {
    const store = make(1);
    await store.append([{ k: 'a', n: 1, ts: 1 }, { k: 'b', n: 2, ts: 2 }, { k: 'b', n: 4, ts: 3 }]);
    const even = (e: { values: Record<string, number> }): boolean => e.values.n % 2 === 0;
    expect(await store.count({ limit: 1 })).toBe(3);
    expect(await store.count({ limit: 1, filter: () => true })).toBe(3);
    expect(await store.sum('n', { limit: 1, filter: even })).toBe(6);
    expect((await store.groupBy('n', { limit: 1, filter: () => true })).get('b')?.count).toBe(2);
  });
});

describe('StoreReader after close()', () => {
  it('snapshot() throws RS_ERR_CLOSED, not a raw RangeError', async () => {
    const store = make(1);
    await store.append({ k: 'a', n: 1, ts: 1 });
    const reader = store.reader();
    expect(reader.snapshot()).toHaveLength(1);
    reader.close();
    expect(() => reader.snapshot()).toThrow(expect.objectContaining({ code: 'RS_ERR_CLOSED' }));
  });
});

describe('query.where.values validation', () => {
  it('a null or non-object where.values is RS_ERR_INVALID_ARGUMENT, not a raw TypeError or no filter at all', async () => {
    const store = make(1);
    await store.append({ k: 'a', n: 1, ts: 1 });
    await expect(store.count({ where: { values: null as unknown as {} } })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    await expect(store.count({ where: { values: 5 as unknown as {} } })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
  });
});
