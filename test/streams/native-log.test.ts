// The memory backend's native stream logs (its default): the synchronous append path and
// everything that reads through the same structure, with every guarantee of the key-value path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTime } from 'ulid';
import {
  DuplicateIdempotencyIdError,
  InvalidStoreSessionError,
  ManualClock,
  MemoryBackend,
  StoreVersionMismatchError,
  StreamStoreProvider,
} from '../../dist/src/streams/index.js';
import type { LiveStreamEvent, NewEvent, StreamEvent } from '../../dist/src/streams/index.js';
import { code, evs, manual, rejection } from './helpers.js';

const P = 'EventStores/Acc/1/';

describe('native stream logs (memory backend default)', () => {
  it('keeps events out of the key-value records; reads, slices, get and versionOf read the log', async () => {
    const { provider, backend } = manual();
    const s = await provider.open('Acc/1');
    expect(await s.append(evs(1, 3))).toBe(3);
    expect(await s.append([{ id: 'given', type: 'G', data: { n: 4 }, metadata: { userId: 'u1', extra: [1] } }])).toBe(4);
    expect(await s.append(evs(5, 1))).toBe(5);
    for (const folder of ['e/', 'i/', 'g/']) expect(await backend.list(P + folder)).toEqual([]);
    expect(await backend.tryGet(`${P}h`)).toBeUndefined();
    expect(await backend.tryGet(`${P}l`)).toBeDefined(); // the lease stays a key-value record
    const { events } = await s.read();
    expect(events.map((e) => [e.version, e.type, (e.data as { n: number }).n])).toEqual([
      [1, 'E', 1],
      [2, 'E', 2],
      [3, 'E', 3],
      [4, 'G', 4],
      [5, 'E', 5],
    ]);
    expect(events[3]!.metadata).toMatchObject({ userId: 'u1', extra: [1], correlationId: 'given' });
    for (const e of events) {
      expect(await s.versionOf(e.id)).toBe(e.version);
      if (e.id !== 'given') expect(e.metadata).toEqual({ correlationId: e.id, createdAt: '2023-11-14T22:13:20.000Z' });
    }
    expect((await s.slice(2, 4)).map((e) => e.version)).toEqual([2, 3, 4]);
    expect((await s.slice(4, 99)).map((e) => e.version)).toEqual([4, 5]);
    expect(await s.slice(6, 9)).toEqual([]);
    expect((await s.get(4)).id).toBe('given');
    expect(await code(s.get(6))).toBe('RS_ERR_STREAM_VERSION_NOT_FOUND');
    expect((await s.read({ toVersion: 2 })).events).toHaveLength(2);
    expect(await code(s.read({ toVersion: 6 }))).toBe('RS_ERR_STREAM_VERSION_NOT_FOUND');
    expect(await code(s.versionOf('nope'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
    expect(await code(s.versionOf('01ARZ3NDEKTSV4RRFFQ69G5FAV'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
    // The same events, read again, are the same frozen objects.
    expect((await s.read()).events[0]).toBe(events[0]);
    await provider.close();
  });

  it('hands out deep-frozen events that callers cannot change, before or after the append', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    const data = { list: [1, { deep: 'a' }], nested: { v: 'a' } };
    const metadata = { userId: 'u', tags: ['t'] };
    await s.append([{ type: 'E', data, metadata }]);
    data.nested.v = 'changed';
    (data.list[1] as { deep: string }).deep = 'changed';
    metadata.tags.push('changed');
    const e = await s.get(1);
    expect(e.data).toEqual({ list: [1, { deep: 'a' }], nested: { v: 'a' } });
    expect(e.metadata.tags).toEqual(['t']);
    for (const o of [e, e.data, (e.data as { list: unknown[] }).list, (e.data as { list: unknown[] }).list[1], e.metadata, e.metadata.tags]) expect(Object.isFrozen(o)).toBe(true);
    expect(() => {
      (e.data as { nested: { v: string } }).nested.v = 'x';
    }).toThrow();
    const [first] = await s.slice(1, 1);
    expect(first).toBe(e);
    await provider.close();
  });

  it('a write detects a lease taken over under it (the fence), writes nothing, and says who holds it', async () => {
    const { provider, backend, clock } = manual();
    const a = await provider.open('Acc/1', { sessionTimeoutMs: 10_000 });
    await a.append(evs(1, 2));
    // Another holder rewrote the lease while `a` still believes its lease is live
    // (e.g. another provider on a clock ahead of this one).
    const lease = await backend.get<{ sessionId: string; expiresAt: number; owner: string }>(`${P}l`);
    await backend.set(`${P}l`, { sessionId: 'intruder', expiresAt: clock.now() + 60_000, owner: 'x' }, { etag: lease.etag });
    const err = await rejection<InvalidStoreSessionError>(a.append(evs(3, 1)));
    expect(err).toBeInstanceOf(InvalidStoreSessionError);
    expect(err.activeSessionId).toBe('intruder');
    // Nothing was written: a new session (after the intruder's lease ends) sees 2 events.
    clock.advance(60_000);
    const b = await provider.open('Acc/1', { openTimeoutMs: 0 });
    expect(await b.version()).toBe(2);
    expect(await b.append(evs(3, 1), { expectedVersion: 2 })).toBe(3);
    await provider.close();
  });

  it('expiry and take-over: the expired session is refused, the new one continues the stream', async () => {
    const { provider, clock } = manual();
    const a = await provider.open('Acc/1', { sessionTimeoutMs: 1_000 });
    await a.append(evs(1, 1));
    clock.advance(1_000);
    expect(await code(a.append(evs(2, 1)))).toBe('RS_ERR_STORE_SESSION_EXPIRED');
    const b = await provider.open('Acc/1', { openTimeoutMs: 0 });
    expect(await code(a.append(evs(2, 1)))).toBe('RS_ERR_STORE_INVALID_SESSION');
    expect(await b.append(evs(2, 1))).toBe(2);
    expect((await b.read()).events.map((e) => e.version)).toEqual([1, 2]);
    await b.close();
    expect(await code(b.append(evs(3, 1)))).toBe('RS_ERR_STORE_NOT_OPEN');
    await provider.close();
  });

  it('version mismatches and duplicate ids (given or generated) write nothing, in any position of an append', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append([{ id: 'a', type: 'E', data: 1 }, ...evs(2, 2)]);
    const generated = (await s.get(2)).id;
    const mismatch = await rejection<StoreVersionMismatchError>(s.append(evs(4, 1), { expectedVersion: 2 }));
    expect([mismatch.code, mismatch.expected, mismatch.actual]).toEqual(['RS_ERR_STORE_VERSION_MISMATCH', 2, 3]);
    const eventMismatch = await rejection<StoreVersionMismatchError>(s.append([{ type: 'E', data: 0 }, { type: 'E', data: 0, expectedVersion: 9 }]));
    expect([eventMismatch.expected, eventMismatch.actual]).toEqual([9, 5]);
    for (const id of ['a', generated]) {
      const dup = await rejection<DuplicateIdempotencyIdError>(s.append([{ id: 'fresh', type: 'E', data: 0 }, { type: 'E', data: 0 }, { id, type: 'E', data: 0 }]));
      expect([dup.code, dup.idempotencyId, dup.existingVersion]).toEqual(['RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID', id, id === 'a' ? 1 : 2]);
      expect(await code(s.append([{ id, type: 'E', data: 0 }]))).toBe('RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID');
    }
    expect(await code(s.append([{ id: 'twice', type: 'E', data: 0 }, { id: 'twice', type: 'E', data: 0 }]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.append([{ type: 'E', data: { bad: Number.NaN } }]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await s.version()).toBe(3);
    expect(await code(s.versionOf('fresh'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
    expect(await s.append([{ id: 'fresh', type: 'E', data: 0 }])).toBe(4);
    await provider.close();
  });

  it('writes queued behind a pending write (renew, snapshot) keep call order; concurrent appends get consecutive versions', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    const results = await Promise.all([s.append(evs(1, 1)), s.renew(), s.append(evs(2, 2)), s.snapshot(1, { at: 1 }), s.append(evs(4, 1)), s.append(evs(5, 1))]);
    expect([results[0], results[2], results[4], results[5]]).toEqual([1, 3, 4, 5]);
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => s.append(evs(6 + i, 1))));
    expect(many).toEqual(Array.from({ length: 50 }, (_, i) => 6 + i));
    expect((await s.read()).events.map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 55 }, (_, i) => i + 1));
    await provider.close();
  });

  it('snapshots, snapshotEvery and snapshot reads after native appends', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    for (let i = 1; i <= 25; i++) await s.append(evs(i, 1));
    await s.append(evs(26, 10));
    const sum = (st: number | undefined, events: readonly StreamEvent[]) => events.reduce((a, e) => a + (e.data as { n: number }).n, st ?? 0);
    expect(await s.snapshotEvery<number>(10, sum)).toEqual([10, 20, 30]);
    const r = await s.read<number>({ useSnapshot: true });
    expect([r.snapshot?.version, r.snapshot?.state, r.events.map((e) => e.version)]).toEqual([30, 465, [31, 32, 33, 34, 35]]);
    expect((await s.read<number>({ toVersion: 25, useSnapshot: true })).snapshot?.version).toBe(20);
    expect(await s.lastSnapshotVersion()).toBe(30);
    await s.clearSnapshots();
    expect(await s.snapshotVersions()).toEqual([]);
    await provider.close();
  });

  it('publishes committed events to the live view in order, frozen', async () => {
    const seen: LiveStreamEvent[] = [];
    const { provider } = manual({ publishTo: { append: (e: LiveStreamEvent) => void seen.push(e) } });
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 1));
    await s.append(evs(2, 2));
    expect(await code(s.append(evs(9, 1), { expectedVersion: 0 }))).toBe('RS_ERR_STORE_VERSION_MISMATCH');
    expect(seen.map((e) => [e.stream, e.version, (e.data as { n: number }).n])).toEqual([
      ['Acc/1', 1, 1],
      ['Acc/1', 2, 2],
      ['Acc/1', 3, 3],
    ]);
    expect(Object.isFrozen(seen[0]!.data) && Object.isFrozen(seen[0]!.metadata)).toBe(true);
    expect(seen[1]!.id).toBe((await s.get(2)).id);
    await provider.close();
  });

  it('another session (and provider) on the same backend reads the same log', async () => {
    const { provider, backend, clock } = manual();
    const a = await provider.open('Acc/1');
    await a.append([{ id: 'x', type: 'E', data: 1 }, ...evs(2, 2)]);
    const gen = (await a.get(3)).id;
    await a.close();
    const other = new StreamStoreProvider({ backend, clock });
    const b = await other.open('Acc/1');
    expect([await b.version(), await b.versionOf('x'), await b.versionOf(gen)]).toEqual([3, 1, 3]);
    expect(await code(b.append([{ id: gen, type: 'E', data: 0 }]))).toBe('RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID');
    await other.close();
    await provider.close();
  });

  it('a closed backend fails operations with StoreBackendError, as key-value backends do', async () => {
    const { provider, backend } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 1));
    await backend.close();
    expect(await code(s.append(evs(2, 1)))).toBe('RS_ERR_STORE_BACKEND');
    expect(await code(s.read())).toBe('RS_ERR_STORE_BACKEND');
    expect(await code(s.version())).toBe('RS_ERR_STORE_BACKEND');
  });

  it('streams written as key-value records before, subclasses and wrappers keep the key-value layout', async () => {
    // A head record written through the key-value methods before the first open (as by an
    // earlier version of this code): the stream stays on key-value records.
    const { provider, backend } = manual();
    const env = { id: 'L1', type: 'E', data: { n: 1 }, metadata: { correlationId: 'L1', createdAt: '2026-01-01T00:00:00.000Z' }, version: 1 };
    await backend.batch([
      { op: 'set', key: `${P}h`, value: { version: 1 } },
      { op: 'set', key: `${P}e/0000000000000001`, value: env },
      { op: 'set', key: `${P}i/L1`, value: 1 },
    ]);
    const s = await provider.open('Acc/1');
    expect([await s.version(), await s.versionOf('L1')]).toEqual([1, 1]);
    expect(await s.append(evs(2, 2))).toBe(3);
    expect((await backend.list(`${P}e/`)).map((r) => r.key.slice(-2))).toEqual(['01', '03']);
    await provider.close();
    // A subclass may override key-value methods the native path would bypass.
    class Counting extends MemoryBackend {
      batches = 0;
      override batch(ops: Parameters<MemoryBackend['batch']>[0]) {
        this.batches++;
        return super.batch(ops);
      }
    }
    const counting = new Counting();
    const p2 = new StreamStoreProvider({ backend: counting });
    const s2 = await p2.open('Acc/2');
    await s2.append(evs(1, 1));
    expect(counting.batches).toBe(1);
    await p2.close();
    await counting.close();
  });

  it('nativeStreams must be a boolean', () => {
    expect(() => new MemoryBackend({ nativeStreams: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
  });

  it('publishes concurrent appends in version order, and close waits for publishing (asynchronous sink)', async () => {
    const seen: number[] = [];
    let published = 0;
    const sink = {
      append: async (e: LiveStreamEvent) => {
        await new Promise((r) => setTimeout(r, 2));
        seen.push(e.version);
        published++;
      },
    };
    const { provider } = manual({ publishTo: sink });
    const s = await provider.open('Acc/1');
    expect(await Promise.all([s.append(evs(1, 3)), s.append(evs(4, 1)), s.append(evs(5, 2))])).toEqual([3, 4, 6]);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    const last = s.append(evs(7, 1));
    await s.close();
    expect(await last).toBe(7);
    expect(published).toBe(7); // close resolved only after the queued append was published
    await provider.close();
  });

  it('an append whose generated ids cannot be made (clock before 1970) writes nothing, even after a given id', async () => {
    const clock = new ManualClock(-5_000);
    const backend = new MemoryBackend({ clock });
    const provider = new StreamStoreProvider({ clock, backend });
    const s = await provider.open('Acc/1');
    expect(await code(s.append([{ id: 'given', type: 'E', data: 1 }, { type: 'E', data: 2 }]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await s.version()).toBe(0);
    await s.append([{ id: 'given', type: 'E', data: 1 }]); // the session is still usable
    expect(await s.version()).toBe(1);
    await provider.close();
  });

  it('generated ids carry the clock time when the clock is ahead of every id made so far', async () => {
    // The generator is process-wide and monotonic: a clock later than anything it has seen sets the time part.
    const t0 = Date.now() + 365 * 86_400_000;
    const clock = new ManualClock(t0);
    const backend = new MemoryBackend({ clock });
    const provider = new StreamStoreProvider({ clock, backend });
    const s = await provider.open('Acc/1');
    await s.append(evs(0, 2));
    clock.advance(7);
    await s.append(evs(2, 1));
    const ids = (await s.read()).events.map((e) => e.id);
    expect(ids.map((id) => decodeTime(id))).toEqual([t0, t0, t0 + 7]);
    await provider.close();
  });

  it('generated ids are ULIDs, increasing, and found by versionOf', async () => {
    const { provider, clock } = manual();
    const s = await provider.open('Acc/1');
    for (let i = 0; i < 1_100; i++) await s.append(evs(i, 1)); // more than 1,024 ids in one millisecond
    clock.advance(7);
    await s.append(evs(0, 3));
    const ids = (await s.read()).events.map((e) => e.id);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `id ${i}`).toBe(true);
    expect(ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    for (const v of [1, 2, 1_024, 1_025, 1_100, 1_101, 1_103]) expect(await s.versionOf(ids[v - 1]!)).toBe(v);
    await provider.close();
  });
});

/** A model of one stream: what every append must do, whatever the backend. */
interface Op {
  events: { id?: string; expectedVersion?: number }[];
  expectedVersion?: number;
}

describe('native logs against the key-value layout (property)', () => {
  it('the same appends give the same results, versions, data and ids', async () => {
    const idArb = fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { nil: undefined });
    const opArb: fc.Arbitrary<Op> = fc.record(
      {
        events: fc.array(fc.record({ id: idArb, expectedVersion: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }) }, { requiredKeys: [] }), { maxLength: 4 }),
        expectedVersion: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
      },
      { requiredKeys: ['events'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), fc.array(fc.nat(), { maxLength: 6 }), async (ops, reuse) => {
        const runs = [];
        for (const nativeStreams of [true, false]) {
          const { provider } = manual({}, { nativeStreams });
          const s = await provider.open('Acc/1');
          const outcomes: (number | string)[] = [];
          for (let k = 0; k < ops.length; k++) {
            const op = ops[k]!;
            const events: NewEvent[] = op.events.map((e, j) => ({ ...e, type: 'E', data: { k, j } }));
            // Re-append a generated id of an earlier event now and then: a duplicate.
            const all = (await s.read()).events;
            if (reuse[k % Math.max(1, reuse.length)] !== undefined && all.length > 0 && events.length > 0 && k % 3 === 0) {
              events[0] = { ...events[0]!, id: all[reuse[k % reuse.length]! % all.length]!.id };
            }
            try {
              outcomes.push(await s.append(events, op.expectedVersion === undefined ? undefined : { expectedVersion: op.expectedVersion }));
            } catch (err) {
              outcomes.push((err as { code: string }).code);
            }
          }
          const { events } = await s.read();
          for (const e of events) expect(await s.versionOf(e.id)).toBe(e.version);
          // Generated ids differ between runs: compare given ids, and generated ones by shape.
          const shape = events.map((e) => [e.version, e.data, /^[0-9A-HJKMNP-TV-Z]{26}$/.test(e.id) ? 'generated' : e.id]);
          runs.push({ outcomes, shape });
          await provider.close();
        }
        expect(runs[0]).toEqual(runs[1]);
      }),
      { numRuns: 60 },
    );
  });
});

describe('ULID parts (the native log keeps generated ids as numbers)', () => {
  it('format and parse are inverse, and the generator\'s strings are its parts formatted', async () => {
    const { formatUlid, parseUlid, MonotonicUlid } = await import('../../dist/src/ids/ulid.js');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.integer({ min: 0, max: 2 ** 40 - 1 }), fc.integer({ min: 0, max: 2 ** 40 - 1 }), (t, hi, lo) => {
        const id = formatUlid(t, hi, lo);
        expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
        expect(parseUlid(id)).toEqual([t, hi, lo]);
      }),
    );
    expect([parseUlid('not-a-ulid'), parseUlid('01ARZ3NDEKTSV4RRFFQ69G5FAI'), parseUlid('81ARZ3NDEKTSV4RRFFQ69G5FAV')]).toEqual([undefined, undefined, undefined]);
    const u = new MonotonicUlid();
    let previous = '';
    for (let i = 0; i < 3_000; i++) {
      const id = u.next(1_700_000_000_000 + (i >= 2_500 ? 1 : 0)); // > 1,024 ids in one millisecond, then the next one
      expect(id).toBe(formatUlid(u.time, u.hi, u.lo));
      expect(id > previous).toBe(true);
      previous = id;
    }
  });
});
