// Appends (auto-versioning, expected versions, idempotency, atomicity) and reads.
import { describe, expect, it } from 'vitest';
import {
  DuplicateIdempotencyIdError,
  MemoryBackend,
  ManualClock,
  StoreBackendError,
  StoreVersionMismatchError,
  StreamIdempotencyIdNotFoundError,
  StreamStoreProvider,
  StreamVersionNotFoundError,
} from '../../dist/src/streams/index.js';
import type { KeyValueBackend, KvBatchOp } from '../../dist/src/streams/index.js';
import { decodeTime } from 'ulid';
import { code, describeBackends, evs, rejection } from './helpers.js';
import { isoTime } from '../../dist/src/ids/event-id.js';

describeBackends('append', ({ kind, manual, backendOn }) => {
  /** Registered for the memory backend only (what it tests is not the backend's). */
  const memoryIt = kind === 'memory' ? it : () => undefined;

  it('assigns versions 1..N automatically (events without expected versions)', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    expect(await s.version()).toBe(0);
    expect(await s.append(evs(1, 2))).toBe(2);
    expect(await s.append(evs(3, 1))).toBe(3);
    expect(await s.append([])).toBe(3);
    const { events } = await s.read();
    expect(events.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(events.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3]);
    expect(await s.version()).toBe(3);
  });

  it('builds the envelope: ulid id, type, data, metadata with correlationId and UTC createdAt', async () => {
    const { provider, clock } = manual();
    const s = await provider.open('Acc/1');
    await s.append([
      { type: 'Opened', data: { owner: 'Joe' } },
      { id: 'cmd-7', type: 'Deposited', data: { amount: 5 }, metadata: { correlationId: 'corr', causationId: 'cause', userId: 'u1', tenant: 't' } },
    ]);
    const [a, b] = (await s.read()).events;
    expect(a!.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a!.metadata.correlationId).toBe(a!.id);
    expect(a!.metadata.createdAt).toBe(new Date(clock.now()).toISOString());
    expect(b).toEqual({
      id: 'cmd-7',
      type: 'Deposited',
      data: { amount: 5 },
      version: 2,
      metadata: { correlationId: 'corr', causationId: 'cause', userId: 'u1', tenant: 't', createdAt: new Date(clock.now()).toISOString() },
    });
  });

  it('expectedVersion on the call: a mismatch throws { expected, actual } and writes nothing', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    expect(await s.append(evs(1, 1), { expectedVersion: 0 })).toBe(1);
    const err = await rejection<StoreVersionMismatchError>(s.append(evs(2, 3), { expectedVersion: 5 }));
    expect(err).toBeInstanceOf(StoreVersionMismatchError);
    expect([err.expected, err.actual]).toEqual([5, 1]);
    expect(await s.version()).toBe(1);
    expect(await s.append(evs(2, 1), { expectedVersion: 1 })).toBe(2);
  });

  it('expectedVersion per event (the reference SequenceNumber): any mismatch in the batch writes nothing', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    expect(await s.append([{ type: 'E', data: 1, expectedVersion: 1 }, { type: 'E', data: 2 }, { type: 'E', data: 3, expectedVersion: 3 }])).toBe(3);
    const err = await rejection<StoreVersionMismatchError>(
      s.append([{ type: 'E', data: 4, expectedVersion: 4 }, { type: 'E', data: 5, expectedVersion: 9 }]),
    );
    expect([err.expected, err.actual]).toEqual([9, 5]);
    expect(await s.version()).toBe(3);
    expect((await s.slice(1, 10)).length).toBe(3);
  });

  it('idempotency: an id already in the stream throws DuplicateIdempotencyIdError and writes nothing', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append([{ id: 'a', type: 'E', data: 1 }, { id: 'b', type: 'E', data: 2 }]);
    const err = await rejection<DuplicateIdempotencyIdError>(s.append([{ id: 'c', type: 'E', data: 3 }, { id: 'b', type: 'E', data: 4 }]));
    expect(err).toBeInstanceOf(DuplicateIdempotencyIdError);
    expect(err.idempotencyId).toBe('b');
    expect(err.existingVersion).toBe(2);
    expect(await s.version()).toBe(2);
    expect(await code(s.versionOf('c'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
    expect(await s.versionOf('a')).toBe(1);
    expect(await s.versionOf('b')).toBe(2);
    const nf = await rejection<StreamIdempotencyIdNotFoundError>(s.versionOf('zzz'));
    expect(nf).toBeInstanceOf(StreamIdempotencyIdNotFoundError);
    expect(nf.idempotencyId).toBe('zzz');
    // an id repeated inside one call is an argument error
    expect(await code(s.append([{ id: 'x', type: 'E', data: 1 }, { id: 'x', type: 'E', data: 2 }]))).toBe('RS_ERR_INVALID_ARGUMENT');
    // ids with "/" and other characters are safe in keys
    await s.append([{ id: 'a/b?c%', type: 'E', data: 1 }]);
    expect(await s.versionOf('a/b?c%')).toBe(3);
  });

  it('generated ids are indexed like given ones: versionOf answers and appending one again is a duplicate', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 3));
    const [a, b, c] = (await s.read()).events;
    expect(await s.versionOf(a!.id)).toBe(1);
    expect(await s.versionOf(c!.id)).toBe(3);
    const err = await rejection<DuplicateIdempotencyIdError>(s.append([{ type: 'E', data: 0 }, { id: b!.id, type: 'E', data: 2 }]));
    expect(err).toBeInstanceOf(DuplicateIdempotencyIdError);
    expect([err.idempotencyId, err.existingVersion]).toEqual([b!.id, 2]);
    expect(await s.version()).toBe(3);
    expect((await s.slice(1, 10)).map((e) => e.id)).toEqual([a!.id, b!.id, c!.id]);
  });

  memoryIt('generated ids are monotonic ULIDs carrying the append time, also within one millisecond and when the clock goes back', async () => {
    let now = 1_700_000_000_000;
    const clock = { now: () => now, sleep: async () => undefined };
    const provider = new StreamStoreProvider({ clock, backend: new MemoryBackend({ clock }) });
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 1500)); // 1,500 ids in one ms: increments carry through the cached parts
    now += 5;
    await s.append(evs(1, 2));
    now -= 1_000; // clock goes back: ids keep increasing (monotonic)
    await s.append(evs(1, 2));
    const ids = (await s.read()).events.map((e) => e.id);
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `id ${i}`).toBe(true);
    expect(decodeTime(ids[0]!)).toBe(1_700_000_000_000);
    expect(decodeTime(ids[1500]!)).toBe(1_700_000_000_005);
    expect(decodeTime(ids[1503]!)).toBe(1_700_000_000_005);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('argument errors are rejections (never synchronous throws) and name the offending path', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    let p: Promise<unknown> | undefined;
    expect(() => {
      p = s.append([{ type: 'E', data: 1 }, { type: 'E', data: { list: [1, { x: Number.NaN }] } }]);
    }).not.toThrow();
    const err = await rejection(p!);
    expect(err.code).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(err.message).toContain('events[1].data.list[1].x');
    expect((await rejection(s.append([{ type: 'E', data: 1, metadata: { causationId: '' } }]))).message).toContain('events[0].metadata.causationId');
    await s.close();
    expect(() => {
      p = s.append(evs(1, 1));
    }).not.toThrow();
    expect(await code(p!)).toBe('RS_ERR_STORE_NOT_OPEN');
  });

  it('validates events up front; bad input writes nothing', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 1));
    const bad: unknown[] = [
      null,
      [null],
      [{ data: 1 }],
      [{ type: '', data: 1 }],
      [{ type: 'E' }],
      [{ type: 'E', data: () => 1 }],
      [{ type: 'E', data: { when: new Date() } }],
      [{ type: 'E', data: { x: Number.NaN } }],
      [{ type: 'E', data: 1n }],
      [{ type: 'E', data: [1, undefined] }],
      [{ type: 'E', data: 1, id: '' }],
      [{ type: 'E', data: 1, expectedVersion: 0 }],
      [{ type: 'E', data: 1, expectedVersion: 1.5 }],
      [{ type: 'E', data: 1, metadata: 'x' }],
      [{ type: 'E', data: 1, metadata: { userId: 5 } }],
      [{ type: 'OK', data: 1 }, { type: 'E', data: Symbol('s') }],
    ];
    for (const b of bad) expect(await code(s.append(b as never)), JSON.stringify(String(b))).toBe('RS_ERR_INVALID_ARGUMENT');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(await code(s.append([{ type: 'E', data: cyclic }]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.append(evs(2, 1), { expectedVersion: -1 }))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await s.version()).toBe(1);
  });

  it('stored data is a copy: mutating the input or the read result cannot change the stream', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    const data = { list: [1, 2], nested: { v: 'a' } };
    await s.append([{ type: 'E', data }]);
    data.list.push(3);
    data.nested.v = 'changed';
    const [e] = (await s.read()).events;
    expect(e!.data).toEqual({ list: [1, 2], nested: { v: 'a' } });
    const mutate = () => {
      (e!.data as { nested: { v: string } }).nested.v = 'x';
    };
    // Read-only: frozen on memory and NATS; LMDB decodes a fresh copy per read (docs/streams.md).
    if (kind === 'lmdb') mutate();
    else expect(mutate).toThrow();
    expect((await s.get(1)).data).toEqual({ list: [1, 2], nested: { v: 'a' } });
  });

  it('is all or nothing when the backend fails during the commit', async () => {
    const clock = new ManualClock();
    const inner = backendOn(clock);
    let mode: 'ok' | 'throw' | 'poison' = 'ok';
    // A backend whose batch fails: either an I/O error before anything is applied,
    // or a poisoned operation injected in the middle of the batch (so the inner
    // backend has applied half of it when it fails and must roll back).
    const flaky: KeyValueBackend = Object.assign(Object.create(inner) as KeyValueBackend, {
      kind: 'flaky',
      capabilities: inner.capabilities,
      add: inner.add.bind(inner),
      set: inner.set.bind(inner),
      get: inner.get.bind(inner),
      tryGet: inner.tryGet.bind(inner),
      remove: inner.remove.bind(inner),
      list: inner.list.bind(inner),
      close: inner.close.bind(inner),
      batch: async (ops: readonly KvBatchOp[]) => {
        if (mode === 'throw') throw new Error('disk full');
        if (mode === 'poison') {
          const mid = Math.floor(ops.length / 2) + 1;
          const firstKey = ops.find((o) => o.op === 'add')!.key;
          return inner.batch([...ops.slice(0, mid), { op: 'add', key: firstKey, value: 'dup' }, ...ops.slice(mid)]);
        }
        return inner.batch(ops);
      },
    });
    const provider = new StreamStoreProvider({ backend: flaky, clock });
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 2));
    mode = 'throw';
    const err = await rejection<StoreBackendError>(s.append(evs(3, 5)));
    expect(err).toBeInstanceOf(StoreBackendError);
    expect(err.code).toBe('RS_ERR_STORE_BACKEND');
    expect((err.cause as Error).message).toBe('disk full');
    mode = 'poison';
    expect(await code(s.append([{ id: 'p1', type: 'E', data: 1 }, { id: 'p2', type: 'E', data: 2 }, { id: 'p3', type: 'E', data: 3 }]))).not.toBe('resolved');
    mode = 'ok';
    expect(await s.version()).toBe(2);
    expect((await s.slice(1, 100)).map((e) => e.version)).toEqual([1, 2]);
    expect(await code(s.versionOf('p1'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
    // One chunk record (the first append's 2 events, keyed by its last version), one record
    // listing its 2 generated ids, and no per-id keys (no id was given).
    const chunks = await inner.list<{ version: number; id: string }[]>('EventStores/Acc/1/e/');
    expect(chunks.map((c) => [c.key, c.value.map((e) => e.version)])).toEqual([['EventStores/Acc/1/e/0000000000000002', [1, 2]]]);
    const gen = await inner.list<string[]>('EventStores/Acc/1/g/');
    expect(gen.map((g) => g.value)).toEqual([chunks[0]!.value.map((e) => e.id)]);
    expect(await inner.list('EventStores/Acc/1/i/')).toHaveLength(0);
    expect(await s.append([{ id: 'p1', type: 'E', data: 1 }])).toBe(3);
  });

  it.each(
    kind === 'memory'
      ? [
          ['native logs', true],
          ['key-value records', false],
        ]
      : [['key-value records', false]],
  )(`1,000 concurrent operations on one stream: zero corruption (${kind}, %s)`, async (_, nativeStreams) => {
    const { provider, backend } = manual({}, { nativeStreams });
    const s = await provider.open('Acc/soak');
    const ops: Array<Promise<unknown>> = [];
    // deterministic mix: plain appends, appends with a (mostly wrong) expected version,
    // duplicate ids, reads, slices, versions, snapshots
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ids = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const r = rnd();
      if (r < 0.45) {
        const id = `id-${Math.floor(rnd() * 800)}`;
        ops.push(s.append([{ id, type: 'E', data: { i } }, { type: 'E', data: { i, second: true } }]).then(() => ids.add(id)));
      } else if (r < 0.6) ops.push(s.append(evs(i, 1), { expectedVersion: Math.floor(rnd() * 50) }));
      else if (r < 0.75) ops.push(s.read());
      else if (r < 0.85) ops.push(s.slice(1 + Math.floor(rnd() * 100), 200));
      else if (r < 0.95) ops.push(s.version());
      else ops.push(s.version().then((v) => (v > 0 ? s.snapshot(v, { v }) : undefined)));
    }
    const settled = await Promise.allSettled(ops);
    for (const r of settled) {
      if (r.status === 'rejected') {
        expect(['RS_ERR_STORE_VERSION_MISMATCH', 'RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID']).toContain((r.reason as { code: string }).code);
      }
    }
    const head = await s.version();
    const { events } = await s.read();
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    const seen = new Set(events.map((e) => e.id));
    expect(seen.size).toBe(head);
    for (const id of ids) expect(seen.has(id)).toBe(true);
    for (const e of events) expect(await s.versionOf(e.id)).toBe(e.version);
    // Key-value layout: every event is indexed once, given ids (and the id of a one-event
    // append) by one key each, the other generated ids in per-append records. A native log
    // keeps no event records in the key-value store at all.
    const keyed = (await backend.list<number>('EventStores/Acc/soak/i/')).map((r) => r.value);
    const generated = (await backend.list<string[]>('EventStores/Acc/soak/g/')).flatMap((r) => r.value);
    if (nativeStreams) expect([keyed.length, generated.length, (await backend.list('EventStores/Acc/soak/e/')).length]).toEqual([0, 0, 0]);
    else {
      expect(keyed.length + generated.length).toBe(head);
      expect(keyed.length).toBeGreaterThanOrEqual(events.filter((e) => e.id.startsWith('id-')).length);
    }
    for (const v of await s.snapshotVersions()) expect(v).toBeLessThanOrEqual(head);
    expect(settled.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(500);
  });
});

describeBackends('read, slice, get, version', ({ kind, manual }) => {
  it('reads up to a version; beyond the head is StreamVersionNotFoundError', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 10));
    expect((await s.read({ toVersion: 4 })).events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
    expect((await s.read({ toVersion: 0 })).events).toEqual([]);
    const err = await rejection<StreamVersionNotFoundError>(s.read({ toVersion: 11 }));
    expect(err).toBeInstanceOf(StreamVersionNotFoundError);
    expect(err.version).toBe(11);
    expect(await code(s.read({ toVersion: -1 }))).toBe('RS_ERR_INVALID_ARGUMENT');
  });

  it('an empty stream reads as empty', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/empty');
    expect(await s.read()).toEqual({ events: [] });
    expect(await s.read({ useSnapshot: true })).toEqual({ events: [] });
    expect(await s.slice(1, 5)).toEqual([]);
  });

  it('slices are inclusive, return what exists, are empty past the end, and reject bad bounds', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 100));
    expect((await s.slice(50, 75)).map((e) => e.version)).toEqual(Array.from({ length: 26 }, (_, i) => 50 + i));
    expect((await s.slice(95, 1_000)).map((e) => e.version)).toEqual([95, 96, 97, 98, 99, 100]);
    expect(await s.slice(150, 200)).toEqual([]);
    expect((await s.slice(7, 7)).map((e) => e.version)).toEqual([7]);
    expect(await code(s.slice(5, 4))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.slice(0, 4))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.slice(-3, 4))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.slice(1.5, 4))).toBe('RS_ERR_INVALID_ARGUMENT');
  });

  it('get(version) returns one event or throws StreamVersionNotFoundError', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 3));
    expect((await s.get(2)).data).toEqual({ n: 2 });
    expect(await code(s.get(4))).toBe('RS_ERR_STREAM_VERSION_NOT_FOUND');
    expect(await code(s.get(0))).toBe('RS_ERR_INVALID_ARGUMENT');
  });

  it('version() reads one head record, never probes events (native logs: no record at all)', async () => {
    for (const nativeStreams of kind === 'memory' ? [false, true] : [false]) {
      const { provider, backend } = manual({}, { nativeStreams });
      const s = await provider.open('Acc/1');
      await s.append(evs(1, 500));
      let gets = 0;
      let lists = 0;
      const orig = backend.tryGet.bind(backend);
      const origList = backend.list.bind(backend);
      backend.tryGet = (async (k: string) => {
        gets++;
        return orig(k);
      }) as typeof backend.tryGet;
      backend.list = (async (...args: Parameters<typeof backend.list>) => {
        lists++;
        return origList(...args);
      }) as typeof backend.list;
      expect(await s.version()).toBe(500);
      expect([gets, lists]).toEqual([nativeStreams ? 0 : 1, 0]);
    }
  });

  it('streams of the same name in different databases and ids do not collide', async () => {
    const { provider } = manual();
    const a = await provider.open({ database: 'd1', name: 'Acc', id: '1' });
    const b = await provider.open({ database: 'd2', name: 'Acc', id: '1' });
    const c = await provider.open({ database: 'd1', name: 'Acc', id: '2' });
    await a.append(evs(1, 1));
    await b.append(evs(1, 2));
    await c.append(evs(1, 3));
    expect([await a.version(), await b.version(), await c.version()]).toEqual([1, 2, 3]);
  });

  it('a new session continues where the previous one stopped', async () => {
    const { provider } = manual();
    const a = await provider.open('Acc/1');
    await a.append(evs(1, 3));
    await a.close();
    const b = await provider.open('Acc/1');
    expect(await b.append(evs(4, 1), { expectedVersion: 3 })).toBe(4);
  });
});

describe('isoTime (createdAt and the daemon\'s receive time)', () => {
  it('is toISOString of the millisecond asked, also when asked out of order', () => {
    for (const ms of [0, 1_700_000_000_123, 1_700_000_000_123, 1_700_000_000_124, 5, 8.64e15]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
