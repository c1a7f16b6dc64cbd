// Defects the stress suite found, each pinned by a deterministic test that failed before its fix.
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../dist/src/index.js';

interface Ev {
  k: string;
  n: number;
  pad?: string;
}

const stores: EventStore<Ev>[] = [];
function make(options: Parameters<typeof EventStore.create<Ev>>[0] = {}): EventStore<Ev> {
  const s = EventStore.create<Ev>({ partitions: 1, key: 'k', values: { n: 'n' }, ...options });
  stores.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('a worker crash in a drain that evicts all of a key\'s committed events', () => {
  it('the re-run gives the key the versions the acks said (the committed version goes to the key directory)', async () => {
    const store = make({ capacity: 4 });
    for (let i = 1; i <= 3; i++) expect((await store.append({ k: 'k', n: i })).version).toBe(i);
    // One drain: 6 more events of k evict its 3 committed ones (4 slots), then the worker dies before the commit point.
    const dying = store.crashPartition(0, { afterRecords: 6 });
    const results = await store.append(Array.from({ length: 6 }, (_, i) => ({ k: 'k', n: 4 + i })));
    await dying;
    expect(results.map((r) => r.version)).toEqual([4, 5, 6, 7, 8, 9]);
    const snap = await store.snapshot();
    expect(snap.map((e) => [e.position, e.version, e.payload.n])).toEqual([[6, 6, 6], [7, 7, 7], [8, 8, 8], [9, 9, 9]]);
    expect((await store.append({ k: 'k', n: 10 })).version).toBe(10);
  });

  it('the same with the arena, not the slots, forcing the evictions', async () => {
    const store = make({ capacity: 64, payloadBytes: 512 });
    const pad = 'p'.repeat(60);
    for (let i = 1; i <= 3; i++) await store.append({ k: 'k', n: i, pad });
    const dying = store.crashPartition(0, { afterRecords: 8 });
    const results = await store.append(Array.from({ length: 8 }, (_, i) => ({ k: 'k', n: 4 + i, pad })));
    await dying;
    const snap = await store.snapshot();
    const byPos = new Map(snap.map((e) => [e.position, e]));
    for (const r of results) {
      const e = byPos.get(r.position);
      if (e !== undefined) expect(e.version).toBe(r.version);
    }
    expect(results.map((r) => r.version)).toEqual(Array.from({ length: 8 }, (_, i) => 4 + i));
    expect((await store.append({ k: 'k', n: 12 })).version).toBe(12);
  });
});

describe('the key directory after a crash', () => {
  it('keeps the dormantKeys keys that went quiet last: a crashed drain\'s tentative entries do not count against the bound', async () => {
    const store = make({ capacity: 1, dormantKeys: 3 });
    await store.append({ k: 'a', n: 1 });
    await store.append({ k: 'b', n: 1 }); // a goes quiet
    // One drain: c, d, e each evict the one before (b, c, d go quiet); the worker dies before the commit point.
    const dying = store.crashPartition(0, { afterRecords: 3 });
    await store.append([{ k: 'c', n: 1 }, { k: 'd', n: 1 }, { k: 'e', n: 1 }]);
    await dying;
    // The three keys that went quiet last are b, c and d: each continues from its version.
    for (const k of ['b', 'c', 'd']) expect((await store.append({ k, n: 2 })).version, k).toBe(2);
  });
});

describe('appends that wait for room in a full input ring', () => {
  it('commit in call order: concurrent appends on one key get versions in the order they were called', async () => {
    const store = make({ capacity: 4096, inputBytes: 8192, maxEventBytes: 300 });
    // ~64 bytes a record: 2,000 of them fill the 8 KB ring about 15 times over.
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => store.append({ k: 'k', n: i })));
    expect(results.map((r) => r.version)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    const snap = await store.snapshot();
    expect(snap.map((e) => e.payload.n)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });
});
