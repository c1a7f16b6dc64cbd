// Regression tests of the core at its edges (issue 10): each failed on d61fe57.
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore, PartialAppendError, partitionOf, type AppendResult, type CapacityInfo, type StoredEvent } from '../dist/src/index.js';

interface Ev {
  k: string;
  n: number;
  ts?: number;
  pad?: string;
}

const stores: EventStore<Ev>[] = [];
function make(options: Parameters<typeof EventStore.create<Ev>>[0] = {}): EventStore<Ev> {
  const s = EventStore.create<Ev>({ capacity: 1024, partitions: 1, key: 'k', values: { n: 'n' }, ...options });
  stores.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** Rejects after `ms` so a hang fails the test instead of timing it out. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms))),
  ]);
}

/**
 * Keeps this thread busy for a while, so the partition worker commits (and
 * acks) everything just appended before the producer reads a single ack: the
 * worst case for the ack ring, made deterministic.
 */
function holdThread(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

/** The stored event at a result's position (through a key query: it also checks the key index). */
async function at(store: EventStore<Ev>, partition: number, position: number): Promise<StoredEvent<Ev> | undefined> {
  return (await store.snapshot({ partitions: [partition] })).find((e) => e.position === position);
}

describe('acks at the bound of the ack ring (8,192 entries)', () => {
  for (const n of [8191, 8192, 8193, 20_000]) {
    it(`${n} concurrent single appends on one partition all settle, each with its own position`, async () => {
      const store = make({ capacity: 32_768 });
      const calls = Array.from({ length: n }, (_, i) => store.append({ k: `k${i % 7}`, n: i }));
      await null; // the producer's deferred doorbell rings in this microtask
      holdThread(300);
      const results = await within(Promise.all(calls), 30_000, `${n} appends`);
      const positions = new Set(results.map((r) => r.position));
      expect(positions.size).toBe(n);
      const snap = await store.snapshot();
      const byPos = new Map(snap.map((e) => [e.position, e]));
      results.forEach((r, i) => expect(byPos.get(r.position)?.payload.n).toBe(i));
    });
  }

  it('100 concurrent append(array of 100) settle', async () => {
    const store = make({ capacity: 16_384 });
    const calls = Array.from({ length: 100 }, (_, c) => store.append(Array.from({ length: 100 }, (_, i) => ({ k: `c${c}`, n: c * 100 + i }))));
    await null;
    holdThread(300);
    const results = await within(Promise.all(calls), 30_000, '100 array appends');
    expect(results.flat()).toHaveLength(10_000);
    for (const r of results) expect(r.map((x) => x.version)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });
});

describe('producer slots', () => {
  it('close() waits for accepted appends instead of rejecting stored ones; a reused slot gets only its own results', async () => {
    const store = make({ capacity: 8192, maxProducers: 2 });
    const first = EventStore.attach<Ev>(store.descriptor());
    const pending = Array.from({ length: 2000 }, (_, i) => first.append({ k: 'old', n: i }));
    const closed = first.close();
    expect(() => first.tryAppend({ k: 'old', n: -1 })).toThrow(expect.objectContaining({ code: 'RS_ERR_CLOSED' }));
    await within(closed, 10_000, 'close');
    const settled = await Promise.allSettled(pending);
    // Every accepted append resolved, and names its own event.
    expect(settled.every((r) => r.status === 'fulfilled')).toBe(true);
    const snap = await store.snapshot();
    const byPos = new Map(snap.map((e) => [e.position, e]));
    settled.forEach((r, i) => expect(byPos.get((r as PromiseFulfilledResult<{ position: number }>).value.position)?.payload).toEqual({ k: 'old', n: i }));
    // The slot is free again (maxProducers 2: the coordinator and one attached producer).
    const second = EventStore.attach<Ev>(store.descriptor());
    const mine = await second.append({ k: 'new', n: 42 });
    expect((await at(store, 0, mine.position))?.payload).toEqual({ k: 'new', n: 42 });
    expect(mine.version).toBe(1);
    await second.close();
  });
});

describe('a partition that fails for good', () => {
  it('rejects pending and new appends with RS_ERR_WORKER instead of hanging', async () => {
    const store = make({ capacity: 256 });
    await store.append({ k: 'a', n: 0 });
    // The worker keeps dying: 20 restarts in a minute are allowed, the 21st death fails the partition.
    for (let i = 0; i < 20; i++) await store.crashPartition(0);
    expect(store.stats.restarts).toBe(20);
    // The last death happens mid-drain, with appends in flight.
    const dying = store.crashPartition(0, { afterRecords: 1 });
    const pending = Array.from({ length: 50 }, (_, i) => store.append({ k: 'b', n: i }));
    await dying;
    const settled = await within(Promise.allSettled(pending), 10_000, 'pending appends');
    for (const r of settled) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'RS_ERR_WORKER' } });
    await expect(within(store.append({ k: 'c', n: 1 }), 5_000, 'a new append')).rejects.toMatchObject({ code: 'RS_ERR_WORKER' });
    expect(() => store.tryAppend({ k: 'c', n: 1 })).toThrow(expect.objectContaining({ code: 'RS_ERR_WORKER' }));
    await expect(within(store.count(), 5_000, 'a query')).rejects.toMatchObject({ code: 'RS_ERR_WORKER' });
    expect(store.stats.partitions[0].failed).toBe(true);
  }, 60_000);
});

describe('an append(array) over several partitions: a rejection never hides a stored event', () => {
  /** Keys routed to partitions 0 and 1 of a 2-partition store, alternating: k0a, k1a, k0b, ... */
  function twoPartitionEvents(n: number): Ev[] {
    const on = [0, 1].map((p) => Array.from({ length: 1000 }, (_, i) => `k${i}`).filter((k) => partitionOf(k, 2) === p));
    return Array.from({ length: n }, (_, i) => ({ k: on[i % 2][i >> 1], n: i }));
  }
  /** Fails partition `p` for good: 20 restarts a minute are allowed, the 21st death is one too many. */
  async function toTheLimit(store: EventStore<Ev>, p: number): Promise<void> {
    for (let i = 0; i < 20; i++) await store.crashPartition(p);
    expect(store.stats.partitions[p].restarts).toBe(20);
  }

  it('a partition that failed before the call: rejected, and nothing stored on the others', async () => {
    const store = make({ partitions: 2 });
    await toTheLimit(store, 1);
    await store.crashPartition(1);
    expect(store.stats.partitions[1].failed).toBe(true);
    const events = twoPartitionEvents(10); // partition 0's events come first in the array
    await expect(within(store.append(events), 10_000, 'the append')).rejects.toMatchObject({ code: 'RS_ERR_WORKER' });
    // An append after it on partition 0 is committed after anything the call published there.
    const next = await store.append({ k: events[0].k, n: -1 });
    expect(next).toMatchObject({ partition: 0, position: 1, version: 1 });
    expect(await store.count({ partitions: [0] })).toBe(1);
  }, 60_000);

  it('a partition that fails for good mid-batch: PartialAppendError names every stored event, the others are not stored', async () => {
    const store = make({ partitions: 2 });
    await toTheLimit(store, 1);
    // The 21st death, in the drain holding this call's records: partition 1 never commits them.
    const dying = store.crashPartition(1, { afterRecords: 1 });
    const events = twoPartitionEvents(20);
    const err = await within(store.append(events), 10_000, 'the append').then(
      () => undefined,
      (e: unknown) => e,
    );
    await dying;
    expect(err).toBeInstanceOf(PartialAppendError);
    const partial = err as PartialAppendError;
    expect(partial.code).toBe('RS_ERR_PARTIAL_APPEND');
    const snap = await store.snapshot({ partitions: [0] });
    const byPos = new Map(snap.map((e) => [e.position, e]));
    events.forEach((e, i) => {
      const p = partitionOf(e.k, 2);
      if (p === 0) {
        // Stored: its result names it.
        const r = partial.results[i] as AppendResult;
        expect(partial.errors[i]).toBeUndefined();
        expect(byPos.get(r.position)?.payload).toEqual(e);
      } else {
        expect(partial.results[i]).toBeUndefined();
        expect(partial.errors[i]).toMatchObject({ code: 'RS_ERR_WORKER' });
      }
    });
    expect(snap).toHaveLength(10);
    expect(partial.details).toMatchObject({ stored: expect.any(Array), notStored: expect.any(Array) });
    expect((partial.details!.stored as unknown[]).length).toBe(10);
    expect((partial.details!.notStored as { code: string }[]).every((x) => x.code === 'RS_ERR_WORKER')).toBe(true);
    expect(partial.cause).toMatchObject({ code: 'RS_ERR_WORKER' });
  }, 60_000);

  it('workers killed mid-batch on both partitions: the array resolves once, each result naming its event', async () => {
    const store = make({ partitions: 2 });
    const dying = [store.crashPartition(0, { afterRecords: 3 }), store.crashPartition(1, { afterRecords: 3 })];
    const events = twoPartitionEvents(40);
    const results = await within(store.append(events), 20_000, 'the append');
    await Promise.all(dying);
    expect(store.stats.restarts).toBe(2);
    const snap = await store.snapshot();
    expect(snap).toHaveLength(40);
    const at = new Map(snap.map((e) => [`${e.partition}/${e.position}`, e]));
    results.forEach((r, i) => expect(at.get(`${r.partition}/${r.position}`)?.payload).toEqual(events[i]));
  });
});

describe('the arena holds whole events or refuses them', () => {
  it('an event that does not fit with its id, key and type is refused with a code, and nothing is cut', async () => {
    const store = make({ capacity: 4, payloadBytes: 64 });
    const big = { k: 'a', n: 1, pad: 'x'.repeat(38) }; // 62 bytes of JSON: fits maxEventBytes' old default, not the arena
    expect(JSON.stringify(big).length).toBe(62);
    await expect(store.append(big)).rejects.toMatchObject({ code: 'RS_ERR_EVENT_TOO_LARGE' });
    expect(() => store.tryAppend(big)).toThrow(expect.objectContaining({ code: 'RS_ERR_EVENT_TOO_LARGE' }));
    await store.append({ k: 'a', n: 2 });
    const snap = await store.snapshot(); // threw a raw SyntaxError on a cut event
    expect(snap.map((e) => e.payload)).toEqual([{ k: 'a', n: 2 }]);
  });

  it('evictions forced by a full arena are reported like slot evictions', async () => {
    const evicted: StoredEvent<Ev>[] = [];
    const full: CapacityInfo[] = [];
    const store = make({ capacity: 1000, onDiscarded: (e) => evicted.push(...e), onCapacityReached: (i) => full.push(i) });
    const pad = 'p'.repeat(1000);
    for (let i = 0; i < 1000; i += 100) await store.append(Array.from({ length: 100 }, (_, j) => ({ k: `k${i + j}`, n: i + j, pad })));
    const s = store.stats;
    // 256 KB of arena hold about 244 events of 1 KB: the rest were evicted, and said so.
    expect(s.live).toBeLessThan(260);
    expect(s.live).toBeGreaterThan(200);
    expect(s.discarded).toBe(1000 - s.live);
    await new Promise((r) => setTimeout(r, 50));
    expect(evicted).toHaveLength(s.discarded);
    expect(evicted.map((e) => e.payload.n)).toEqual(Array.from({ length: s.discarded }, (_, i) => i));
    expect(full).toEqual([{ partition: 0, capacity: 1000, reason: 'bytes' }]);
  });
});

describe('evictions of a drain whose worker dies', () => {
  function collecting(options: Parameters<typeof make>[0]) {
    const delivered: StoredEvent<Ev>[] = [];
    const lost: number[] = [];
    const store = make({
      ...options,
      onDiscarded: (events) => delivered.push(...events),
      onDiscardedLost: ({ positions }) => lost.push(...positions),
    });
    return { store, delivered, lost };
  }

  it('every evicted position reaches onDiscarded or onDiscardedLost, once (slots reused by the dying drain)', async () => {
    const { store, delivered, lost } = collecting({ capacity: 8 });
    for (let i = 0; i < 8; i++) await store.append({ k: 'a', n: i });
    // The drain dies after 5 records, each of which evicted one event and took its slot.
    const dying = store.crashPartition(0, { afterRecords: 5 });
    const results = await within(store.append(Array.from({ length: 10 }, (_, i) => ({ k: 'b', n: 8 + i }))), 20_000, 'the append');
    await dying;
    await store.flush();
    expect(results.map((r) => r.position)).toEqual(Array.from({ length: 10 }, (_, i) => 9 + i));
    expect(store.stats.discarded).toBe(10);
    // Their slots hold the drain's new events: only the positions are left of the 5 the crashed drain evicted.
    expect(lost).toHaveLength(5);
    const all = [...delivered.map((e) => e.position), ...lost].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    for (const e of delivered) expect(e.payload).toEqual({ k: e.position <= 8 ? 'a' : 'b', n: e.position - 1 });
  });

  it('onDiscardedLost must be a function, and needs onDiscarded', () => {
    expect(() => make({ onDiscardedLost: 1 as never })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
    expect(() => make({ onDiscardedLost: () => undefined })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
  });

  it('an event the dying drain evicted without overwriting its bytes is delivered whole', async () => {
    // A 256-byte arena; stored spans (26-byte id + key "a" + JSON) of 200, 56, 200, then 100 bytes.
    const { store, delivered, lost } = collecting({ capacity: 64, payloadBytes: 256, maxEventBytes: 200 });
    const ev = (n: number, span: number): Ev => ({ k: 'a', n, pad: 'x'.repeat(span - 51) });
    await store.append(ev(1, 200)); // arena [0, 200)
    await store.append(ev(2, 56)); // [200, 256)
    await store.append(ev(3, 200)); // [0, 200) again: evicts event 1 (delivered by its drain)
    await store.flush();
    expect(delivered.map((e) => e.position)).toEqual([1]);
    // Event 4 does not fit before the arena's end: it goes to its start, evicting event 2 (whose bytes at
    // [200, 256) it leaves alone) and event 3 (whose bytes it overwrites); then its worker dies.
    const dying = store.crashPartition(0, { afterRecords: 1 });
    const r = await within(store.append(ev(4, 100)), 20_000, 'the append');
    await dying;
    await store.flush();
    expect(r.position).toBe(4);
    expect(store.stats.discarded).toBe(3);
    expect(delivered.map((e) => [e.position, e.version, e.payload])).toEqual([
      [1, 1, ev(1, 200)],
      [2, 2, ev(2, 56)],
    ]);
    expect(lost).toEqual([3]);
  });
});

describe('batches across a crash', () => {
  it('a worker that dies in the middle of a conditional batch commits all of it once, after its restart', async () => {
    const store = make({ capacity: 256 });
    await store.append({ k: 'x', n: 0 });
    const dying = store.crashPartition(0, { afterRecords: 4 });
    const batch = Array.from({ length: 10 }, (_, i) => ({ k: 'x', n: i + 1 }));
    const results = await within(store.append(batch, { expectedVersion: 1 }), 20_000, 'the batch');
    await dying;
    expect(store.stats.restarts).toBe(1);
    expect(results.map((r) => r.version)).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
    const snap = await store.snapshot({ keys: ['x'] });
    expect(snap.map((e) => e.version)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(snap.map((e) => e.payload.n)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    results.forEach((r, i) => expect(snap[i + 1].position).toBe(r.position));
    const s = store.stats;
    expect(s.appended).toBe(s.live + s.discarded + s.rejected + s.purged);
    // The precondition still holds after the restart: the same batch again conflicts and stores nothing.
    await expect(store.append(batch, { expectedVersion: 1 })).rejects.toMatchObject({ code: 'RS_ERR_CONFLICT', actual: 11 });
    expect(await store.count()).toBe(11);
  });

  it('ids and versions survive a worker restart after clear, and ids of evicted events are still recognised', async () => {
    const store = make({ capacity: 4 });
    const first = await store.append({ k: 'a', n: 1 }, { id: 'id-1' });
    for (let i = 0; i < 10; i++) await store.append({ k: 'b', n: i }); // evicts a's event
    await store.clear();
    await store.crashPartition(0);
    const again = await store.append({ k: 'a', n: 1 }, { id: 'id-1' });
    expect(again).toMatchObject({ duplicate: true, position: first.position, version: 1 });
    expect((await store.append({ k: 'a', n: 2 })).version).toBe(2);
    expect((await store.append({ k: 'b', n: 2 })).version).toBe(11);
  });
});

describe('idempotency ids are scoped by key', () => {
  it('the same id on two keys stores two events', async () => {
    const store = make({ partitions: 1 });
    const a = await store.append({ k: 'orders/a', n: 1 }, { id: 'o-1' });
    const b = await store.append({ k: 'orders/b', n: 2 }, { id: 'o-1' });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(false);
    expect(b.position).not.toBe(a.position);
    expect(await store.count({ keys: ['orders/b'] })).toBe(1);
    expect((await store.append({ k: 'orders/b', n: 3 }, { id: 'o-1' })).duplicate).toBe(true);
    expect(store.tryAppend({ k: 'orders/c', n: 4 }, { id: 'o-1' })).toBe(true);
    await store.flush();
    expect(await store.count({ keys: ['orders/c'] })).toBe(1);
  });
});

describe('windowAggregate is anchored at the newest event, both ends inclusive', () => {
  it('counts an event exactly one window before the newest', async () => {
    const store = make({ partitions: 1, timestamp: 'ts', window: { sizeMs: 60_000, bucketMs: 1000 } });
    const t0 = 1_700_000_000_500; // not on a bucket boundary
    await store.append({ k: 'a', n: 1, ts: t0 });
    await store.append({ k: 'a', n: 2, ts: t0 + 60_000 });
    expect(await store.windowAggregate('n')).toMatchObject({ count: 2, sum: 3 });
    await store.append({ k: 'a', n: 4, ts: t0 + 61_000 }); // now the first is one bucket too old
    expect(await store.windowAggregate('n')).toMatchObject({ count: 2, sum: 6 });
  });

  it('a timestamp beyond a Date\'s range (±8.64e15 ms) is refused: at 1e300 the bucket arithmetic lost the event from its own window', async () => {
    const store = make({ partitions: 1, timestamp: 'ts', window: { sizeMs: 60_000, bucketMs: 1000 } });
    for (const ts of [1e300, -1e300, 8.64e15 + 1, -8.64e15 - 1]) {
      await expect(store.append({ k: 'a', n: 1, ts }), String(ts)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/timestamp/) });
      expect(() => store.tryAppend({ k: 'a', n: 1, ts })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    }
    expect(await store.count()).toBe(0);
    await store.append({ k: 'a', n: 1, ts: 8.64e15 });
    await store.append({ k: 'a', n: 2, ts: -8.64e15 });
    expect(await store.windowAggregate('n')).toMatchObject({ count: 1, sum: 1 });
  });

  it('with a range, counts the whole buckets that overlap it', async () => {
    const store = make({ partitions: 1, timestamp: 'ts', window: { sizeMs: 10_000, bucketMs: 1000 } });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 10; i++) await store.append({ k: 'a', n: i, ts: t0 + i * 1000 + 500 });
    expect(await store.windowAggregate('n', { from: t0 + 2000, to: t0 + 4999 })).toMatchObject({ count: 3, sum: 2 + 3 + 4 });
    expect(await store.windowAggregate('n', { from: t0 + 2999, to: t0 + 3000 })).toMatchObject({ count: 2, sum: 2 + 3 });
  });
});

describe('shared-memory readers check a checksum, not only the seqlock', () => {
  it('a slot whose bytes changed behind the seqlock is dropped, the others are returned', async () => {
    const { PartitionMemory } = await import('../dist/src/ring/layout.js');
    const store = make({ partitions: 1 });
    for (let i = 0; i < 10; i++) await store.append({ k: 'a', n: 1000 + i });
    const reader = store.reader();
    expect(reader.snapshot().map((e) => e.payload.n)).toEqual(Array.from({ length: 10 }, (_, i) => 1000 + i));
    // Change one digit of event 4's payload without touching its seq: what a torn, reordered copy looks like.
    const d = store.descriptor();
    const m = new PartitionMemory(d.partitions[0], d.geometry);
    const s = 3;
    const at = (m.arenaAbs[s] % d.geometry.arenaBytes) + m.idLen[s] + m.keyLen[s] + m.typeLen[s];
    const json = new TextDecoder().decode(m.arena.subarray(at, at + m.payloadLen[s]));
    const digit = at + json.indexOf('1003') + 3;
    m.arena[digit] = '7'.charCodeAt(0);
    const after = reader.snapshot().map((e) => e.payload.n);
    expect(after).toEqual([1000, 1001, 1002, 1004, 1005, 1006, 1007, 1008, 1009]);
    reader.close();
  });
});

describe('callbacks that return a rejected promise', () => {
  // "Exceptions are caught and logged": an async onDiscarded's rejection was not, and an unhandled
  // rejection ends a Node process by default.
  it('an async onDiscarded or onCapacityReached that rejects is logged like one that throws', async () => {
    const logged: string[] = [];
    const logger = { info() {}, warn() {}, error: (_o: unknown, msg: string) => logged.push(msg) };
    const store = make({
      capacity: 2, logger: logger as never,
      onDiscarded: async () => { throw new Error('async onDiscarded'); },
      onCapacityReached: () => Promise.reject(new Error('async onCapacityReached')) as never,
    });
    for (let n = 0; n < 4; n++) await store.append({ k: 'a', n });
    await within((async () => { while (logged.length < 2) await new Promise((r) => setTimeout(r, 5)); })(), 2000, 'the log lines');
    expect([...new Set(logged)].sort()).toEqual(['onCapacityReached callback threw', 'onDiscarded callback threw']);
    expect(await store.count()).toBe(2);
  });
});
