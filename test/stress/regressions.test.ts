// Defects the stress suite found, each pinned by a deterministic test that failed before its fix.
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../dist/src/index.js';
// @ts-expect-error plain ESM module without types
import { check } from './checker.mjs';
// @ts-expect-error plain ESM module without types
import { eventSum } from './prng.mjs';

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
    // In the middle of the drain, before its commit point: the case this pins.
    expect(await dying).toBe('mid-drain');
    expect(results.map((r) => r.version)).toEqual([4, 5, 6, 7, 8, 9]);
    const snap = await store.snapshot();
    expect(snap.map((e) => [e.position, e.version, e.payload.n])).toEqual([[6, 6, 6], [7, 7, 7], [8, 8, 8], [9, 9, 9]]);
    expect((await store.append({ k: 'k', n: 10 })).version).toBe(10);
  });

  it('the same with dormantKeys 0: recovery does not trim the key directory before the drain runs again', async () => {
    const store = make({ capacity: 4, dormantKeys: 0 });
    for (let i = 1; i <= 3; i++) await store.append({ k: 'k', n: i });
    const dying = store.crashPartition(0, { afterRecords: 6 });
    const results = await store.append(Array.from({ length: 6 }, (_, i) => ({ k: 'k', n: 4 + i })));
    // In the middle of the drain, before its commit point: the case this pins.
    expect(await dying).toBe('mid-drain');
    expect(results.map((r) => r.version)).toEqual([4, 5, 6, 7, 8, 9]);
    expect((await store.snapshot()).map((e) => e.version)).toEqual([6, 7, 8, 9]);
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

describe('crashPartition afterRecords', () => {
  it('counts the records of several drains: an append split over two drains still meets the count (no hang)', async () => {
    const store = make({ capacity: 16 });
    const dying = store.crashPartition(0, { afterRecords: 3 });
    // Awaited one by one: each is its own drain, so no single drain holds 3 records.
    const first = await store.append({ k: 'a', n: 1 });
    const second = await store.append({ k: 'a', n: 2 });
    const third = store.append({ k: 'a', n: 3 });
    await dying;
    expect([first.version, second.version, (await third).version]).toEqual([1, 2, 3]);
    expect((await store.snapshot()).map((e) => e.payload.n)).toEqual([1, 2, 3]);
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

  it('a one-partition batch that waits for room queues too: calls made while it waits are written after it', async () => {
    const store = make({ capacity: 4096, inputBytes: 8192, maxEventBytes: 300 });
    // Calls of 1 to 5 events on one key, all issued at once: the batches (one claim each) and the single
    // events must get versions in call order, whichever of them had to wait for room in the ring.
    const sizes = Array.from({ length: 600 }, (_, i) => 1 + ((i * 7) % 5));
    let n = 0;
    const calls = sizes.map((size) => {
      const events = Array.from({ length: size }, () => ({ k: 'k', n: n++ }));
      return size === 1 ? store.append(events[0]).then((r) => [r]) : store.append(events);
    });
    const versions = (await Promise.all(calls)).flat().map((r) => r.version);
    expect(versions).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const snap = await store.snapshot();
    expect(snap.map((e) => e.payload.n)).toEqual(Array.from({ length: n }, (_, i) => i).slice(-snap.length));
  });

  it('tryAppend does not overtake appends waiting for room: what it accepts is stored after them', async () => {
    const store = make({ capacity: 8192, inputBytes: 8192, maxEventBytes: 300 });
    let n = 0;
    const calls: Promise<unknown>[] = [];
    for (let round = 0; round < 300; round++) {
      calls.push(store.append(Array.from({ length: 3 }, () => ({ k: 'k', n: n++ }))));
      if (store.tryAppend({ k: 'k', n })) n++;
      // Let the worker make room now and then, while calls are still queued.
      if (round % 10 === 9) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(calls);
    await store.flush();
    const stored = (await store.snapshot()).map((e) => e.payload.n);
    expect(stored).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('a refused conditional append of a key with no live event (found by the model test, seed -1891647273)', () => {
  it('does not free the key\'s id twice: two later keys shared one id and read back under each other\'s name', async () => {
    const store = make({ capacity: 6, dedupWindow: 3 });
    await store.append({ k: 'c', n: 1 }, { id: 'i6' });
    await store.clear(); // c has no live event: its version waits in the key directory
    // Conditional, so it goes the batch path; a duplicate id, so it is refused and c is dropped again.
    expect(await store.append({ k: 'c', n: 2 }, { id: 'i6', expectedVersion: 1 })).toMatchObject({ position: 1, duplicate: true });
    await store.append({ k: 'b', n: 3 });
    await store.append({ k: 'a', n: 4 });
    const snap = await store.snapshot();
    expect(snap.map((e) => [e.key, e.payload.k])).toEqual([['b', 'b'], ['a', 'a']]);
    expect(await store.count({ keys: ['b'] })).toBe(1);
    expect(await store.count({ keys: ['a'] })).toBe(1);
  });

  it('the same in a batch whose first record is a duplicate and whose second commits (the key was made again under the freed id)', async () => {
    const store = make({ capacity: 6, dedupWindow: 3 });
    await store.append({ k: 'c', n: 1 }, { id: 'x' });
    await store.clear();
    const r = await store.append([{ k: 'c', n: 2 }, { k: 'c', n: 3 }], { id: ['x', 'y'], expectedVersion: 1 });
    expect(r.map((e) => [e.duplicate, e.version])).toEqual([[true, 1], [false, 2]]);
    await store.append({ k: 'b', n: 4 });
    await store.append({ k: 'a', n: 5 });
    const snap = await store.snapshot();
    expect(snap.map((e) => [e.key, e.payload.k, e.version])).toEqual([['c', 'c', 2], ['b', 'b', 1], ['a', 'a', 1]]);
  });
});

describe('a worker killed between a commit point\'s flip and its trim', () => {
  it('restarts with the idempotency window at its bound: an id past the window is stored again, as without the crash', async () => {
    const store = make({ capacity: 16, dedupWindow: 3 });
    for (const id of ['i1', 'i2', 'i3']) await store.append({ k: 'k', n: 1 }, { id });
    const dying = store.crashPartition(0, { afterRecords: 1, afterCommitPoint: true });
    expect(await store.append({ k: 'k', n: 4 }, { id: 'i4' })).toMatchObject({ position: 4, duplicate: false });
    expect(await dying).toBe('commit-point');
    expect(store.stats.restarts).toBe(1);
    // i1 left the window when i4 came: a new event, not a duplicate of position 1.
    expect(await store.append({ k: 'k', n: 5 }, { id: 'i1' })).toMatchObject({ position: 5, version: 5, duplicate: false });
    expect(await store.append({ k: 'k', n: 6 }, { id: 'i4' })).toMatchObject({ position: 4, duplicate: true });
    expect(store.stats.dedupIds).toBe(3);
  });

  it('the same for the key directory: a key past dormantKeys starts again at version 1', async () => {
    const store = make({ capacity: 2, dormantKeys: 1 });
    await store.append({ k: 'a', n: 1 });
    await store.append({ k: 'b', n: 1 });
    await store.append({ k: 'c', n: 1 }); // a is evicted: dormant
    const dying = store.crashPartition(0, { afterRecords: 1, afterCommitPoint: true });
    await store.append({ k: 'd', n: 1 }); // b is evicted: dormant, and a goes past the bound of 1
    expect(await dying).toBe('commit-point');
    expect((await store.append({ k: 'a', n: 2 })).version).toBe(1);
  });

  it('afterCommitPoint needs afterRecords', () => {
    const store = make();
    expect(() => store.crashPartition(0, { afterCommitPoint: true })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
  });
});

describe('tryAppend of multi-byte text at the size limits', () => {
  it('an event whose UTF-8 bytes do not fit the arena with its id and key is refused with a code, not accepted and dropped', async () => {
    const store = make({ capacity: 64, payloadBytes: 512 }); // arena 512, maxEventBytes 480
    const k = 'k'.repeat(100);
    // About 270 characters and 410 bytes of JSON: within maxEventBytes; with the id (26) and the key (100) over the arena.
    const e = { k, n: 1, pad: 'é'.repeat(140) };
    const bytes = Buffer.byteLength(JSON.stringify(e));
    expect(bytes).toBeLessThanOrEqual(480);
    expect(26 + 100 + bytes).toBeGreaterThan(512);
    expect(() => store.tryAppend(e)).toThrow(expect.objectContaining({ code: 'RS_ERR_EVENT_TOO_LARGE' }));
    await store.flush();
    expect(store.stats).toMatchObject({ appended: 0, rejected: 0 });
  });

  it('an event over maxEventBytes by its bytes is refused even when the record padding would hide it', async () => {
    const store = make({ capacity: 64, maxEventBytes: 100 });
    const base = JSON.stringify({ k: 'a', n: 1, pad: '' }).length;
    for (let extra = 1; extra <= 7; extra++) {
      // 100 characters (the limit), 100 + extra bytes.
      const e = { k: 'a', n: 1, pad: 'é'.repeat(extra) + 'x'.repeat(100 - base - extra) };
      expect(JSON.stringify(e).length).toBe(100);
      expect(() => store.tryAppend(e), `${100 + extra} bytes`).toThrow(expect.objectContaining({ code: 'RS_ERR_EVENT_TOO_LARGE' }));
    }
    await store.flush();
    expect(await store.count()).toBe(0);
  });
});

describe('keys, types and ids that are not well-formed UTF-16', () => {
  it('are refused with a code: two lone surrogates were stored as one key (both became U+FFFD)', async () => {
    const store = make({ capacity: 64 });
    for (const k of ['\uD800', '\uDFFF', 'a\uD83D', '\uDE00b']) {
      await expect(store.append({ k, n: 1 })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
      expect(() => store.tryAppend({ k, n: 1 })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    }
    await expect(store.append({ k: 'a', n: 1 }, { id: '\uD800' })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    const typed = make({ capacity: 64, type: 'k' });
    await expect(typed.append({ k: '\uDC00', n: 1 })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    // Well-formed text outside ASCII is fine, and stays itself.
    expect((await store.append({ k: '😀é', n: 1 }, { id: 'ïd-😀' })).version).toBe(1);
    expect((await store.snapshot()).map((e) => [e.key, e.id])).toEqual([['😀é', 'ïd-😀']]);
    expect(store.stats.appended).toBe(1);
  });
});

describe('the checker: a forgotten key restarted in an event a crashed drain evicted unreported', () => {
  // Seed 2507106468 round 1: "key s83: version 2 at 16634 then 2 at 16844". Both behaviours are documented
  // (architecture.md: a forgotten key starts again at 1; evictions of a drain that died never reach
  // onDiscarded), so the restart at 1 can sit in a hole and the next version read back is 2 again.
  interface Sx {
    t: string;
    key: string;
    pad: string;
    amount: number;
    c: number;
  }
  const ev = (t: string, key: string): Sx => {
    const e = { t, key, pad: '', amount: 1, c: 0 };
    e.c = eventSum(e);
    return e;
  };

  async function run(crash: boolean) {
    const discarded: unknown[] = [];
    const lost: string[] = [];
    const store = EventStore.create<Sx>({
      partitions: 1, capacity: 1, dormantKeys: 0, key: 'key', values: { amount: 'amount' },
      onDiscarded: (events) => discarded.push(...events),
      onDiscardedLost: ({ partition, positions }) => lost.push(...positions.map((p) => `${partition}:${p}`)),
    }) as unknown as EventStore<Ev>;
    stores.push(store);
    const s = store as unknown as EventStore<Sx>;
    const outcomes: object[] = [];
    const put = async (e: Sx) => {
      const [r] = await s.append([e]);
      outcomes.push({ t: e.t, c: e.c, key: e.key, st: 'ok', p: r!.partition, pos: r!.position, v: r!.version, id: r!.id, op: 'array', i: 0, n: 1 });
      return r!;
    };
    await put(ev('1', 'k')); // k v1 @1
    await put(ev('2', 'k')); // k v2 @2
    await put(ev('3', 'x')); // evicts k's last event: k goes quiet, and is forgotten (dormantKeys 0)
    expect((await put(ev('4', 'k'))).version).toBe(1); // k starts again @4
    // The next drain evicts k@4 and dies before its commit point: k@4 is counted discarded, and its slot
    // holds the drain's new event, so only its position is delivered (onDiscardedLost).
    const dying = crash ? store.crashPartition(0, { afterRecords: 1 }) : null;
    const last = await put(ev('5', 'k'));
    await dying;
    await store.flush();
    const live = await s.snapshot();
    for (let i = 0; i < 200 && discarded.length + lost.length < store.stats.discarded; i++) await new Promise((r) => setTimeout(r, 10));
    if (crash) expect(lost).toEqual(['0:4']);
    return { last, res: check({ outcomes, live, discarded, lost, stats: store.stats, capacityPerPartition: 1 }) };
  }

  it('allows the key to read back as version 2, hole, version 2', async () => {
    const { last, res } = await run(true);
    expect(last.version).toBe(2);
    expect(res.problems).toEqual([]);
  });

  it('still flags a version that goes back with no hole to hide a restart', async () => {
    const { res } = await run(false);
    expect(res.problems).toEqual([]);
    // The same history with k@4 delivered but relabelled v2→v2 without the restart: the checker must object.
    const bad = check({
      outcomes: [], stats: { discarded: 1, restarts: 0, appended: 2, live: 1, rejected: 0, purged: 0, duplicates: 0, conflicts: 0, partitions: [] }, capacityPerPartition: 1,
      live: [{ partition: 0, position: 2, version: 2, key: 'k', type: '', id: 'b', values: { amount: 1 }, payload: ev('b', 'k') }],
      discarded: [{ partition: 0, position: 1, version: 2, key: 'k', type: '', id: 'a', values: { amount: 1 }, payload: ev('a', 'k') }],
    });
    expect(bad.problems).toContain('key k: version 2 at 1 then 2 at 2');
  });
});

describe('a worker that dies just after handing a drain\'s evicted copies over (the stress suite\'s "event stored twice")', () => {
  // Seed 2193949628: a kill from outside landed there. Its committed evictions (not yet marked EVICTIONS_SENT)
  // came back from recovery, and the events the drain both wrote and evicted came back from its re-run.
  it('reports every evicted position once, through onDiscarded or onDiscardedLost, not both', async () => {
    const discarded: number[] = [];
    const lost: number[] = [];
    const store = make({
      capacity: 4,
      onDiscarded: (events) => discarded.push(...events.map((e) => e.position)),
      onDiscardedLost: ({ positions }) => lost.push(...positions),
    });
    for (let i = 1; i <= 3; i++) await store.append({ k: 'k', n: i });
    // One drain: positions 4..9 evict 1..5 (1..3 committed, 4..5 written by the drain itself); the worker dies
    // once those five copies left it.
    const dying = store.crashPartition(0, { afterRecords: 6, afterEvictions: true });
    const results = await store.append(Array.from({ length: 6 }, (_, i) => ({ k: 'k', n: 4 + i })));
    // Where it was armed: a kill that died elsewhere would leave the second report untested.
    expect(await dying).toBe('evictions');
    expect(results.map((r) => r.position)).toEqual([4, 5, 6, 7, 8, 9]);
    await store.flush();
    expect((await store.snapshot()).map((e) => e.position)).toEqual([6, 7, 8, 9]);
    for (let i = 0; i < 100 && discarded.length + lost.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50)); // a second report would come right after the first
    expect({ discarded, lost }).toEqual({ discarded: [1, 2, 3, 4, 5], lost: [] });
    expect(store.stats.discarded).toBe(5);
  });

  it('afterEvictions needs afterRecords', () => {
    const store = make({ capacity: 4 });
    expect(() => store.crashPartition(0, { afterEvictions: true })).toThrow(/afterEvictions needs afterRecords/);
  });
});

describe('the checker: an eviction reported to onDiscarded twice', () => {
  // The stress suite's afterEvictions kills look for this; the checker names it, not only as "stored twice".
  it('is named as a second report of its position', () => {
    const e = { t: 'a', key: 'k', pad: '', amount: 1, c: 0 };
    e.c = eventSum(e);
    const ev = { partition: 0, position: 1, version: 1, key: 'k', type: '', id: 'a', values: { amount: 1 }, payload: e };
    const stats = { discarded: 1, restarts: 1, appended: 1, live: 0, rejected: 0, purged: 0, duplicates: 0, conflicts: 0, partitions: [] };
    const outcomes = [{ t: 'a', c: e.c, key: 'k', st: 'ok', p: 0, pos: 1, v: 1, id: 'a', op: 'single' }];
    expect(check({ outcomes, live: [], discarded: [ev], lost: [], stats, capacityPerPartition: 1 }).problems).toEqual([]);
    const twice = check({ outcomes, live: [], discarded: [ev, ev], lost: [], stats, capacityPerPartition: 1 }).problems;
    expect(twice).toContain('onDiscarded reported 0:1 twice (a)');
  });
});
