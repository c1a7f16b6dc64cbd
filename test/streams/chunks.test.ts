// The chunked event layout: one record per append (keyed by its last version), on every backend.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateIdempotencyIdError, LmdbBackend, ManualClock, MemoryBackend, NatsBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';
import type { KeyValueBackend, KvBatchOp, StreamEvent } from '../../dist/src/streams/index.js';
import { sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';
import { code, evs, rejection } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
let natsUrl = '';
let natsStreams = 0;
beforeAll(async () => {
  natsUrl = (await sharedNatsServer()).url;
});
afterAll(stopSharedNatsServer);

// The chunked layout is the key-value one: the memory backend stores it with
// `nativeStreams: false`. With native logs (its default) the same behaviours
// hold, without key-value records to inspect.
const backends: Record<string, (clock: ManualClock) => KeyValueBackend> = {
  memory: (clock) => new MemoryBackend({ clock, nativeStreams: false }),
  'memory native': (clock) => new MemoryBackend({ clock }),
  lmdb: (clock) => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-chunks-'));
    dirs.push(dir);
    return new LmdbBackend({ path: dir, clock, noSync: true });
  },
  nats: (clock) => {
    const n = `K${++natsStreams}`;
    return new NatsBackend({ servers: natsUrl, stream: n, subjectPrefix: `rs.${n}`, clock });
  },
};

const EV = 'EventStores/Acc/1/e/';
const sizes = [3, 1, 4, 2, 5]; // chunks ending at 3, 4, 8, 10, 15
const sum = (state: number | undefined, events: readonly StreamEvent[]) => events.reduce((a, e) => a + (e.data as { n: number }).n, state ?? 0);

for (const [kind, make] of Object.entries(backends)) {
  /** Whether the stream is kept as key-value records (so the layout can be inspected). */
  const kv = kind !== 'memory native';
  /** Registers a test only for the key-value layouts. */
  const layoutIt = kv ? it : () => undefined;
  describe(`chunked events (${kind})`, () => {
    async function setup(wrap?: (b: KeyValueBackend) => KeyValueBackend) {
      const clock = new ManualClock();
      const inner = make(clock);
      const backend = wrap ? wrap(inner) : inner;
      const provider = new StreamStoreProvider({ backend, clock });
      const s = await provider.open('Acc/1');
      let n = 1;
      for (const k of sizes) {
        await s.append(evs(n, k));
        n += k;
      }
      return { inner, provider, s, close: async () => { await provider.close(); await inner.close(); } };
    }

    layoutIt('stores one record per append, keyed by its last version (a one-event append: the bare envelope)', async () => {
      const { inner, close } = await setup();
      const rows = await inner.list<StreamEvent[] | StreamEvent>(EV);
      expect(rows.map((r) => [r.key.slice(EV.length), Array.isArray(r.value) ? r.value.map((e) => e.version) : r.value.version])).toEqual([
        ['0000000000000003', [1, 2, 3]],
        ['0000000000000004', 4],
        ['0000000000000008', [5, 6, 7, 8]],
        ['0000000000000010', [9, 10]],
        ['0000000000000015', [11, 12, 13, 14, 15]],
      ]);
      // Generated ids: one record per multi-event append; the one-event append's id has its own key.
      const gen = await inner.list<string[]>('EventStores/Acc/1/g/');
      expect(gen.map((g) => g.value.length)).toEqual([3, 4, 2, 5]);
      expect((await inner.list('EventStores/Acc/1/i/')).map((r) => r.value)).toEqual([4]);
      await close();
    });

    it('reads, get and toVersion across chunk boundaries', async () => {
      const { s, close } = await setup();
      expect((await s.read()).events.map((e) => e.version)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      expect((await s.read()).events.map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      for (let v = 1; v <= 15; v++) {
        expect((await s.get(v)).version).toBe(v);
        expect((await s.read({ toVersion: v })).events.map((e) => e.version)).toEqual(Array.from({ length: v }, (_, i) => i + 1));
      }
      expect(await code(s.get(16))).toBe('RS_ERR_STREAM_VERSION_NOT_FOUND');
      expect(await code(s.read({ toVersion: 16 }))).toBe('RS_ERR_STREAM_VERSION_NOT_FOUND');
      await close();
    });

    it('every slice spanning chunks returns exactly the versions in range', async () => {
      const { s, close } = await setup();
      for (let first = 1; first <= 17; first++) {
        for (let last = first; last <= 18; last++) {
          const want: number[] = [];
          for (let v = first; v <= Math.min(last, 15); v++) want.push(v);
          expect((await s.slice(first, last)).map((e) => e.version)).toEqual(want);
        }
      }
      await close();
    });

    it('idempotency across chunks: versionOf, duplicates in earlier chunks, generated ids', async () => {
      const { s, close } = await setup();
      await s.append([{ id: 'a', type: 'E', data: 1 }, { id: 'b', type: 'E', data: 2 }]); // 16, 17
      await s.append(evs(18, 3)); // 18..20
      await s.append([{ id: 'c', type: 'E', data: 3 }]); // 21
      expect([await s.versionOf('a'), await s.versionOf('b'), await s.versionOf('c')]).toEqual([16, 17, 21]);
      const gen = await s.get(19);
      expect(await s.versionOf(gen.id)).toBe(19);
      const dup = await rejection<DuplicateIdempotencyIdError>(s.append([{ id: 'new', type: 'E', data: 0 }, { id: 'b', type: 'E', data: 0 }]));
      expect(dup).toBeInstanceOf(DuplicateIdempotencyIdError);
      expect([dup.idempotencyId, dup.existingVersion]).toEqual(['b', 17]);
      const dupGen = await rejection<DuplicateIdempotencyIdError>(s.append([{ id: gen.id, type: 'E', data: 0 }]));
      expect([dupGen.idempotencyId, dupGen.existingVersion]).toEqual([gen.id, 19]);
      expect(await code(s.versionOf('new'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
      expect(await s.version()).toBe(21);
      expect((await s.slice(15, 30)).map((e) => e.version)).toEqual([15, 16, 17, 18, 19, 20, 21]);
      await close();
    });

    it('a backend failing midway through the chunk batch writes nothing', async () => {
      let poison = false;
      const { inner, s, close } = await setup((b) => ({
        kind: 'flaky',
        capabilities: b.capabilities,
        add: b.add.bind(b),
        set: b.set.bind(b),
        get: b.get.bind(b),
        tryGet: b.tryGet.bind(b),
        remove: b.remove.bind(b),
        list: b.list.bind(b),
        close: b.close.bind(b),
        batch: async (ops: readonly KvBatchOp[]) => {
          if (!poison) return b.batch(ops);
          // After the fence, head and chunk: an op that fails (the chunk key is now present).
          return b.batch([...ops.slice(0, 4), { op: 'add', key: ops[2]!.key, value: 'dup' }, ...ops.slice(4)]);
        },
      }));
      const before = await inner.list(EV);
      poison = true;
      expect(await code(s.append([{ id: 'x', type: 'E', data: 1 }, { id: 'y', type: 'E', data: 2 }, { id: 'z', type: 'E', data: 3 }]))).not.toBe('resolved');
      poison = false;
      expect(await inner.list(EV)).toEqual(before);
      expect(await s.version()).toBe(15);
      expect((await s.slice(14, 30)).map((e) => e.version)).toEqual([14, 15]);
      expect(await code(s.get(16))).toBe('RS_ERR_STREAM_VERSION_NOT_FOUND');
      expect(await code(s.versionOf('x'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
      expect(await s.append([{ id: 'x', type: 'E', data: 1 }])).toBe(16);
      expect((await s.get(16)).id).toBe('x');
      await close();
    });

    it('snapshots inside and at the edges of chunks', async () => {
      const { s, close } = await setup();
      await s.snapshot(6, { at: 6 }); // inside the chunk 5..8
      let r = await s.read({ useSnapshot: true });
      expect(r.snapshot?.version).toBe(6);
      expect(r.events.map((e) => e.version)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15]);
      r = await s.read({ toVersion: 12, useSnapshot: true });
      expect(r.events.map((e) => e.version)).toEqual([7, 8, 9, 10, 11, 12]);
      await s.clearSnapshots();
      // snapshotEvery folds events across uneven chunks: every multiple of 4 up to the head.
      expect(await s.snapshotEvery<number>(4, (st, events) => sum(st, events))).toEqual([4, 8, 12]);
      r = await s.read({ useSnapshot: true });
      expect(r.snapshot?.version).toBe(12);
      expect(r.snapshot?.state).toBe(78); // 1 + ... + 12
      expect(r.events.map((e) => e.version)).toEqual([13, 14, 15]);
      await close();
    });

    it('generated ids are indexed per append and millisecond: lookups, duplicates and mixed appends', async () => {
      const clock = new ManualClock();
      const backend = make(clock);
      const provider = new StreamStoreProvider({ backend, clock });
      const s = await provider.open('Acc/1');
      // Several appends within one millisecond: several records under the same time part.
      for (let i = 0; i < 4; i++) await s.append(evs(i * 3 + 1, 3)); // 1..12
      clock.advance(5);
      // Mixed: generated, given, generated, generated, given (ULID-shaped but new)
      const ulidLike = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
      await s.append([{ type: 'E', data: 13 }, { id: 'given-1', type: 'E', data: 14 }, { type: 'E', data: 15 }, { type: 'E', data: 16 }, { id: ulidLike, type: 'E', data: 17 }]);
      if (kv) {
        const gen = await backend.list<string[]>('EventStores/Acc/1/g/');
        expect(gen.map((g) => [g.key.slice(g.key.lastIndexOf('.') + 1), g.value.length])).toEqual([
          ['0000000000000001', 3],
          ['0000000000000004', 3],
          ['0000000000000007', 3],
          ['0000000000000010', 3],
          ['0000000000000013', 1],
          ['0000000000000015', 2],
        ]);
        expect((await backend.list('EventStores/Acc/1/i/')).map((r) => r.value)).toEqual([17, 14]);
      }
      const { events } = await s.read();
      for (const e of events) expect(await s.versionOf(e.id)).toBe(e.version);
      // A generated id appended again (e.g. a re-delivered event) is a duplicate, from any earlier append.
      for (const v of [2, 7, 12, 15]) {
        const id = events[v - 1]!.id;
        const dup = await rejection<DuplicateIdempotencyIdError>(s.append([{ id: 'fresh', type: 'E', data: 0 }, { id, type: 'E', data: 0 }]));
        expect([dup.code, dup.idempotencyId, dup.existingVersion]).toEqual(['RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID', id, v]);
      }
      expect(await code(s.append([{ id: ulidLike, type: 'E', data: 0 }]))).toBe('RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID');
      expect(await code(s.versionOf('fresh'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
      expect(await code(s.versionOf('01ARZ3NDEKTSV4RRFFQ69G5FAW'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
      expect(await s.version()).toBe(17);
      // Another session (as after a restart) sees the same index.
      await s.close();
      const s2 = await provider.open('Acc/1');
      expect(await s2.versionOf(events[4]!.id)).toBe(5);
      expect(await code(s2.append([{ id: events[4]!.id, type: 'E', data: 0 }]))).toBe('RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID');
      expect(await s2.append([{ id: 'fresh', type: 'E', data: 0 }])).toBe(18);
      await provider.close();
      await backend.close();
    });

    layoutIt('reads the layout before chunks (one record per event, keyed by its version) as one-event chunks', async () => {
      const clock = new ManualClock();
      const backend = make(clock);
      const provider = new StreamStoreProvider({ backend, clock });
      const s = await provider.open('Acc/1');
      await s.append(evs(1, 3)); // chunk 1..3
      const legacy = (v: number) => ({ id: `L${v}`, type: 'E', data: { n: v }, metadata: { correlationId: 'c', createdAt: '2026-01-01T00:00:00.000Z' }, version: v });
      const head = await backend.get('EventStores/Acc/1/h');
      await backend.batch([
        { op: 'set', key: 'EventStores/Acc/1/h', value: { version: 5 }, etag: head.etag },
        { op: 'set', key: `${EV}0000000000000004`, value: legacy(4) },
        { op: 'set', key: `${EV}0000000000000005`, value: legacy(5) },
        { op: 'set', key: 'EventStores/Acc/1/i/L4', value: 4 },
        { op: 'set', key: 'EventStores/Acc/1/i/L5', value: 5 },
      ]);
      await s.close();
      const s2 = await provider.open('Acc/1');
      expect((await s2.read()).events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      expect((await s2.slice(3, 4)).map((e) => e.version)).toEqual([3, 4]);
      expect((await s2.get(5)).id).toBe('L5');
      expect(await s2.versionOf('L4')).toBe(4);
      expect(await s2.append(evs(6, 2))).toBe(7);
      expect((await s2.slice(4, 7)).map((e) => e.version)).toEqual([4, 5, 6, 7]);
      await provider.close();
      await backend.close();
    });
  });
}
