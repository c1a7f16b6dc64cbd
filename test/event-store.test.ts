import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, EventStore, RingstoreError, hashKey, partitionOf, type StoredEvent } from '../dist/src/index.js';
import { Ctl, PartitionMemory } from '../dist/src/ring/layout.js';

interface Order {
  type: string;
  user: string;
  amount: number;
  ts?: number;
}

const stores: EventStore<Order>[] = [];
function make(options: Parameters<typeof EventStore.create<Order>>[0] = {}): EventStore<Order> {
  const s = EventStore.create<Order>({ capacity: 64, partitions: 2, key: 'user', values: { amount: 'amount' }, ...options });
  stores.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('options validation', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['zero partitions', { partitions: 0 }],
    ['fractional capacity', { capacity: 10.5 }],
    ['negative capacity', { capacity: -1 }],
    ['capacity below partitions', { capacity: 1, partitions: 2 }],
    ['arena too small for one event', { capacity: 4, partitions: 2, payloadBytes: 16 }],
    ['maxEventBytes larger than the arena', { capacity: 4, partitions: 1, payloadBytes: 1024, maxEventBytes: 4096 }],
    ['non power-of-two input ring', { inputBytes: 100_000 }],
    ['selector of the wrong type', { key: 42 }],
    ['window bucket not dividing the window', { window: { sizeMs: 1000, bucketMs: 300 } }],
    // a misspelt option was ignored and its default used, silently
    ['an unknown option (capcity)', { capcity: 10 }],
    ['an unknown window option', { window: { sizeMs: 1000, bucket: 100 } }],
    // a value named __proto__ was accepted, and lost from every event's `values` (the assignment set a prototype)
    ['a value named __proto__', { values: JSON.parse('{"__proto__": "amount"}') }],
    // a logger without info/warn/error was accepted, and the first worker start threw a TypeError outside any call
    ['a logger that is not a logger', { logger: 5 }],
    ['a logger without warn', { logger: { info() {}, error() {} } }],
    // arena views over more than 4 GiB (2^33 here) failed with a bare RangeError after validation passed
    ['a partition larger than 4 GiB of shared memory', { capacity: 4, partitions: 1, payloadBytes: 2 ** 33 }],
    ['a capacity whose slot columns exceed 4 GiB in one partition', { capacity: 2 ** 27, partitions: 1, payloadBytes: 1 << 20 }],
  ];
  for (const [name, options] of bad) {
    it(`rejects ${name} with RS_ERR_INVALID_OPTION`, () => {
      expect(() => EventStore.create(options as never)).toThrow(RingstoreError);
      try {
        EventStore.create(options as never);
      } catch (err) {
        expect((err as RingstoreError).code).toBe('RS_ERR_INVALID_OPTION');
      }
    });
  }

  it('a misspelt durability option is refused, not replaced by its default (fsnyc: always would have run on interval)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rs-opt-'));
    try {
      await expect(EventStore.open({ partitions: 1, durability: { dir, fsnyc: 'always' } as never })).rejects.toMatchObject({
        code: 'RS_ERR_INVALID_OPTION',
        message: expect.stringMatching(/options\.durability\.fsnyc is not an option/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the builder sets every option and validates on create()', async () => {
    expect(() => EventStore.builder<Order>().withCapacity(0).create()).toThrow(/capacity/);
    const capacityHits: number[] = [];
    const store = EventStore.builder<Order>()
      .withCapacity(2)
      .withPartitions(1)
      .withKey('user')
      .withTimestamp((e) => e.ts ?? 0)
      .withValue('amount', (e) => e.amount)
      .withWindow({ sizeMs: 1000, bucketMs: 100 })
      .onCapacityReached(({ partition }) => capacityHits.push(partition))
      .create();
    stores.push(store);
    for (let i = 0; i < 5; i++) await store.append({ type: 'o', user: 'a', amount: i, ts: 500 + i });
    expect(await store.count()).toBe(2);
    expect(await store.sum('amount')).toBe(3 + 4);
    await store.flush();
    expect(capacityHits).toEqual([0]); // once per transition to full
  });
});

describe('append', () => {
  it('resolves with id, partition, position, version and duplicate', async () => {
    const store = make();
    const a = await store.append({ type: 'o', user: 'ada', amount: 1 });
    const b = await store.append({ type: 'o', user: 'ada', amount: 2 });
    expect(a).toMatchObject({ position: 1, version: 1, duplicate: false });
    expect(b).toMatchObject({ partition: a.partition, position: 2, version: 2 });
    expect(a.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const [e] = await store.snapshot({ keys: ['ada'], limit: 1 });
    expect(e).toMatchObject({ id: a.id, key: 'ada', type: 'o', version: 1, values: { amount: 1 }, payload: { amount: 1 } });
  });

  it('ids assigned by the workers are ULIDs: unique, time-prefixed, increasing with position', async () => {
    const store = make({ capacity: 1_000, partitions: 2 });
    const before = Date.now();
    for (let i = 0; i < 300; i++) store.tryAppend({ type: 'o', user: `u${i % 7}`, amount: i });
    await store.flush();
    const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const events = await store.snapshot();
    expect(new Set(events.map((e) => e.id)).size).toBe(300);
    for (const p of [0, 1]) {
      const ids = events.filter((e) => e.partition === p).sort((a, b) => a.position - b.position).map((e) => e.id);
      for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    }
    for (const e of events) {
      expect(e.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      let ms = 0;
      for (const ch of e.id.slice(0, 10)) ms = ms * 32 + crockford.indexOf(ch);
      expect(ms).toBeGreaterThanOrEqual(before - 1);
      expect(ms).toBeLessThanOrEqual(Date.now() + 1);
    }
  });

  it('the exported partitionOf(key, n) agrees with the store for numeric keys, and refuses what is not a key or a count', async () => {
    // partitionOf(5, 4) hashed a number as the empty string (hashKey looped over its undefined length), so it
    // named another partition than the store routes key 5 to; partitionOf('a', 0) answered NaN, null a TypeError.
    const store = make({ partitions: 4, capacity: 64, key: (e: Order) => e.amount });
    for (const k of [5, 17, 123_456, -3.5]) {
      const r = await store.append({ type: 'o', user: 'u', amount: k });
      expect(partitionOf(k, 4), String(k)).toBe(r.partition);
      expect(store.partitionOf(k)).toBe(r.partition);
    }
    for (const [key, n] of [['a', 0], ['a', -1], ['a', 1.5], ['a', Number.NaN], [null, 2], [{}, 2], [Number.NaN, 2]] as const) {
      expect(() => partitionOf(key as never, n), `${String(key)} ${n}`).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    }
    expect(() => hashKey(5 as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
  });

  it('routes the same key to the same partition in every process (stable hash)', async () => {
    const store = make({ partitions: 4, capacity: 64 });
    const r = await store.append({ type: 'o', user: 'stable-key', amount: 1 });
    // FNV-1a('stable-key') % 4, computed independently
    let h = 0x811c9dc5;
    for (const ch of 'stable-key') h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
    expect(r.partition).toBe((h >>> 0) % 4);
    const forced = await store.append({ type: 'o', user: 'stable-key', amount: 1 }, { partition: (r.partition + 1) % 4 });
    expect(forced.partition).toBe((r.partition + 1) % 4);
  });

  it('expectedVersion: a mismatch rejects with a typed conflict and stores nothing', async () => {
    const store = make();
    await store.append({ type: 'o', user: 'u', amount: 1 }, { expectedVersion: 0 });
    const err = await store.append({ type: 'o', user: 'u', amount: 2 }, { expectedVersion: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: 'RS_ERR_CONFLICT', expected: 5, actual: 1, key: 'u' });
    expect(await store.count()).toBe(1);
    const ok = await store.append({ type: 'o', user: 'u', amount: 2 }, { expectedVersion: 1 });
    expect(ok.version).toBe(2);
  });

  it('a conditional batch is all or nothing', async () => {
    const store = make();
    await store.append({ type: 'o', user: 'u', amount: 1 });
    const batch = [1, 2, 3].map((amount) => ({ type: 'o', user: 'u', amount }));
    await expect(store.append(batch, { expectedVersion: 0 })).rejects.toMatchObject({ code: 'RS_ERR_CONFLICT' });
    expect(await store.count()).toBe(1);
    const results = await store.append(batch, { expectedVersion: 1 });
    expect(results.map((r) => r.version)).toEqual([2, 3, 4]);
    await expect(store.append([{ type: 'o', user: 'x', amount: 1 }, { type: 'o', user: 'y', amount: 1 }], { expectedVersion: 0 })).rejects.toMatchObject({
      code: 'RS_ERR_INVALID_ARGUMENT',
    });
  });

  it('idempotency: an id seen before is not stored twice', async () => {
    const store = make();
    const first = await store.append({ type: 'o', user: 'u', amount: 1 }, { id: 'order-1' });
    const again = await store.append({ type: 'o', user: 'u', amount: 999 }, { id: 'order-1' });
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await store.count()).toBe(1);
    expect(store.tryAppend({ type: 'o', user: 'u', amount: 5 }, { id: 'order-1' })).toBe(true);
    await store.flush();
    expect(await store.count()).toBe(1);
    expect(store.stats.duplicates).toBe(2);
    const [e] = await store.snapshot();
    expect(e.id).toBe('order-1');
  });

  it('invalid events reject with a typed error and change nothing', async () => {
    const store = make();
    await store.append({ type: 'o', user: 'u', amount: 1 });
    const cyclic: Record<string, unknown> = { type: 'o', user: 'u', amount: 1 };
    cyclic.self = cyclic;
    await expect(store.append(cyclic as never)).rejects.toMatchObject({ code: 'RS_ERR_ENCODE' });
    await expect(store.append({ type: 'o', user: 'u', amount: Number.NaN })).rejects.toMatchObject({ code: 'RS_ERR_NON_FINITE' });
    expect(() => store.tryAppend({ type: 'o', user: 'u', amount: Infinity })).toThrow(expect.objectContaining({ code: 'RS_ERR_NON_FINITE' }));
    await expect(store.append({ type: 'o', user: 'u', amount: 1 }, { partition: 7 })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    await expect(store.append({ type: 'o', user: 'u', amount: 1 }, { expectedVersion: -1 })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    // A lone event's id that is not a string is named as such (it was "ids must be an array").
    await expect(store.append({ type: 'o', user: 'u', amount: 1 }, { id: 5 as never })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/^id must be a non-empty string/) });
    await expect(store.append({ type: 'o', user: 'u', amount: 1, pad: 'x'.repeat(100_000) } as never)).rejects.toMatchObject({
      code: 'RS_ERR_EVENT_TOO_LARGE',
    });
    // a bad event in a batch: nothing of the batch is written
    await expect(store.append([{ type: 'o', user: 'u', amount: 2 }, { type: 'o', user: 'u', amount: Number.NaN }])).rejects.toMatchObject({
      code: 'RS_ERR_NON_FINITE',
    });
    await store.flush();
    expect(await store.count()).toBe(1);
    expect(store.stats.appended).toBe(1);
  });

  it('non-ASCII keys, types and payloads round-trip through both append paths', async () => {
    const store = make({ type: 'type' });
    const e1 = { type: 'dépôt', user: 'zoë ✓', amount: 1, note: 'naïve 😀 — ok' };
    const e2 = { type: 'dépôt', user: 'zoë ✓', amount: 2, note: 'x'.repeat(50) + 'é' };
    await store.append(e1);
    expect(store.tryAppend(e2)).toBe(true);
    await store.flush();
    const events = await store.snapshot({ keys: ['zoë ✓'], where: { type: 'dépôt' } });
    expect(events.map((e) => e.payload)).toEqual([e1, e2]);
    expect(events.map((e) => [e.key, e.type, e.version])).toEqual([
      ['zoë ✓', 'dépôt', 1],
      ['zoë ✓', 'dépôt', 2],
    ]);
  });

  it('tryAppend returns false only when the input ring is full of uncommitted events', async () => {
    const store = make({ capacity: 1_000_000, partitions: 1, payloadBytes: 64_000_000, inputBytes: 1 << 16, maxEventBytes: 1000 });
    let refused = 0;
    let accepted = 0;
    // the worker cannot keep up with a tight synchronous loop: some are refused, none lost
    for (let i = 0; i < 20_000; i++) {
      if (store.tryAppend({ type: 'o', user: `u${i % 10}`, amount: i })) accepted++;
      else refused++;
    }
    await store.flush();
    expect(refused).toBeGreaterThan(0);
    expect(store.stats.refused).toBe(refused);
    expect(await store.count()).toBe(accepted);
  });
});

describe('eviction, purge, clear, stats', () => {
  it('evicts the oldest, reports exactly the evicted ones, and accounts for everything', async () => {
    const evicted: StoredEvent<Order>[] = [];
    const store = make({ capacity: 4, partitions: 1, onDiscarded: (events) => evicted.push(...events) });
    for (let i = 0; i < 10; i++) await store.append({ type: 'o', user: 'u', amount: i });
    await store.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(evicted.map((e) => e.payload.amount)).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await store.snapshot()).map((e) => e.payload.amount)).toEqual([6, 7, 8, 9]);
    const s = store.stats;
    expect(s).toMatchObject({ appended: 10, live: 4, discarded: 6, rejected: 0, capacity: 4 });
    expect(s.lastAppendTime).not.toBeNull();
    // a 10-second sliding window: 10 commits just now
    expect(s.appendsPerSecond).toBeCloseTo(1, 5);
    expect(s.partitions[0]).toMatchObject({ partition: 0, appended: 10, live: 4 });
  });

  it('capacity 1: every append evicts exactly the previous event', async () => {
    const evicted: number[] = [];
    const store = make({ capacity: 1, partitions: 1, onDiscarded: (events) => evicted.push(...events.map((e) => e.payload.amount)) });
    for (let i = 0; i < 5; i++) await store.append({ type: 'o', user: 'u', amount: i });
    await store.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(evicted).toEqual([0, 1, 2, 3]);
    expect((await store.snapshot()).map((e) => e.payload.amount)).toEqual([4]);
  });

  it('purge removes events older than the cutoff, also out of order, and keeps the rest', async () => {
    const store = make({ capacity: 100, partitions: 2, timestamp: 'ts' });
    const stamps = [50, 10, 70, 20, 90, 5, 60];
    for (const ts of stamps) await store.append({ type: 'o', user: `u${ts}`, amount: ts, ts });
    expect(await store.purge({ olderThan: 50 })).toBe(3);
    expect((await store.snapshot()).map((e) => e.timestamp)).toEqual([50, 60, 70, 90]);
    expect(store.stats).toMatchObject({ purged: 3, live: 4 });
    await expect(store.purge({ olderThan: Number.NaN })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    // No options, or a misspelt key, is a typed error (not a TypeError, not a purge with a default) and purges nothing.
    await expect((store.purge as (o?: unknown) => Promise<number>)()).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/olderThan/) });
    await expect(store.purge(null as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    await expect(store.purge({ olderThan: 100, before: 1 } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/before is not known/) });
    expect(await store.count()).toBe(4);
    expect(await store.clear()).toBe(4);
    expect(await store.count()).toBe(0);
    const s = store.stats;
    expect(s.appended).toBe(s.live + s.discarded + s.rejected + s.purged);
  });
});

describe('queries', () => {
  it('filters in workers, predicates on the coordinator, empty results as the reference', async () => {
    const store = make({ capacity: 100, timestamp: 'ts' });
    expect(await store.average('amount')).toBe(0);
    expect(await store.min('amount')).toBeNull();
    expect(await store.max('amount')).toBeNull();
    expect(await store.sum('amount')).toBe(0);
    const data: Order[] = [
      { type: 'buy', user: 'a', amount: 10, ts: 100 },
      { type: 'sell', user: 'b', amount: 20, ts: 200 },
      { type: 'buy', user: 'a', amount: 30, ts: 300 },
      { type: 'buy', user: 'c', amount: 40, ts: 400 },
    ];
    await store.append(data);
    expect(await store.count({ from: 200, to: 300 })).toBe(2);
    expect(await store.sum('amount', { keys: ['a'] })).toBe(40);
    expect(await store.sum('amount', { where: { type: 'buy', values: { amount: { gte: 30 } } } })).toBe(70);
    expect(await store.average('amount', { filter: (e) => e.payload.user !== 'c' })).toBe(20);
    expect(await store.aggregate(0, (acc, e) => acc + e.values.amount, { from: 150 })).toBe(90);
    const groups = await store.groupBy('amount');
    expect(groups.get('a')).toEqual({ count: 2, sum: 40, min: 10, max: 30, avg: 20 });
    expect(await store.top(2, 'amount')).toEqual([
      { key: 'a', value: 40 },
      { key: 'c', value: 40 },
    ]);
    expect((await store.snapshot({ keys: ['a'], fromVersion: 2 })).map((e) => e.payload.amount)).toEqual([30]);
    expect(await store.count({ toVersion: 1 })).toBe(3);
    await expect(store.count({ fromVersion: 1.5 })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    const all = await store.snapshot();
    expect(all.map((e) => e.timestamp)).toEqual([100, 200, 300, 400]);
    const it: number[] = [];
    for await (const e of store.events({ limit: 2 })) it.push(e.timestamp);
    expect(it).toEqual([100, 200]);
    await expect(store.sum('nope')).rejects.toMatchObject({ code: 'RS_ERR_UNKNOWN_VALUE' });
    await expect(store.count({ where: { values: { amount: { between: 1 } } } } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    // A value named at where's top level (not under where.values) filtered nothing and summed every event.
    await expect(store.sum('amount', { where: { amount: { lt: 10 } } } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/where\.amount is not a filter/) });
    await expect(store.count({ from: 'yesterday' } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    // A misspelt append option was ignored: expectedVerson committed unconditionally.
    const before = await store.count();
    await expect(store.append({ user: 'a', amount: 1 } as never, { expectedVerson: 0 } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/append options\.expectedVerson is not an option/) });
    await expect(store.append({ user: 'a', amount: 1 } as never, null as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    expect(() => store.tryAppend({ user: 'a', amount: 1 } as never, { partiton: 0 } as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => store.tryAppend({ user: 'a', amount: 1 } as never, { expectedVersion: 0 } as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(await store.count()).toBe(before);
    // crashPartition(p, { afterRecord: 5 }) killed the worker at once instead of arming the kill.
    expect(() => store.crashPartition(0, { afterRecord: 5 } as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    // A misspelt top-level key (key for keys, type for where.type) narrowed nothing: every event answered.
    for (const bad of [{ key: ['a'] }, { type: 'x' }, { form: 0 }]) {
      for (const q of [store.count(bad as never), store.snapshot(bad as never), store.groupBy('amount', bad as never), store.top(1, 'amount', bad as never)]) {
        await expect(q).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(`query\\.${Object.keys(bad)[0]} is not a query option`) });
      }
    }
  });

  it('key queries use the key index and agree with a full scan, through eviction, purge, clear and a worker restart', async () => {
    const store = make({ capacity: 2_000, partitions: 2, timestamp: 'ts' });
    const check = async (): Promise<void> => {
      const all = await store.snapshot();
      for (const key of ['k0', 'k7', 'k42', 'k99', 'missing']) {
        const want = all.filter((e) => e.key === key);
        const got = await store.snapshot({ keys: [key] });
        expect(got.map((e) => e.position)).toEqual(want.map((e) => e.position));
        expect(await store.sum('amount', { keys: [key], from: 1_000 })).toBe(want.filter((e) => e.timestamp >= 1_000).reduce((a, e) => a + e.values.amount, 0));
      }
      const two = await store.count({ keys: ['k3', 'k4'] });
      expect(two).toBe(all.filter((e) => e.key === 'k3' || e.key === 'k4').length);
    };
    const batch = (from: number, n: number): Order[] =>
      Array.from({ length: n }, (_, i) => ({ type: 'o', user: `k${(from + i) % 100}`, amount: (from + i) % 13, ts: from + i }));
    await store.append(batch(0, 5_000)); // wraps each partition more than twice
    await check();
    await store.purge({ olderThan: 4_200 });
    await check();
    await store.crashPartition(0);
    await check();
    await store.append(batch(5_000, 1_500));
    await check();
    await store.clear();
    await store.append(batch(7_000, 300));
    await check();
  });

  it('window aggregates come from time buckets and match a scan', async () => {
    const store = make({ capacity: 1000, timestamp: 'ts', window: { sizeMs: 1000, bucketMs: 100 } });
    await expect(make().windowAggregate('amount')).rejects.toMatchObject({ code: 'RS_ERR_WINDOW_DISABLED' });
    const events: Order[] = [];
    for (let i = 0; i < 300; i++) events.push({ type: 'o', user: `u${i % 7}`, amount: (i * 37) % 101, ts: 10_000 + ((i * 53) % 1000) });
    await store.append(events);
    const w = await store.windowAggregate('amount', { from: 10_200, to: 10_799 });
    const inRange = events.filter((e) => e.ts! >= 10_200 && e.ts! <= 10_799).map((e) => e.amount);
    expect(w.count).toBe(inRange.length);
    expect(w.sum).toBe(inRange.reduce((a, b) => a + b, 0));
    expect(w.min).toBe(Math.min(...inRange));
    expect(w.max).toBe(Math.max(...inRange));
    expect(await store.count({ from: 10_200, to: 10_799 })).toBe(w.count);
  });
});

describe('lifecycle', () => {
  it('close rejects later calls with RS_ERR_CLOSED and supports await using', async () => {
    const store = EventStore.create<Order>({ capacity: 8, partitions: 1, key: 'user' });
    await store.append({ type: 'o', user: 'u', amount: 1 });
    await store[Symbol.asyncDispose]();
    expect(() => store.tryAppend({ type: 'o', user: 'u', amount: 1 })).toThrow(expect.objectContaining({ code: 'RS_ERR_CLOSED' }));
    await expect(store.append({ type: 'o', user: 'u', amount: 1 })).rejects.toMatchObject({ code: 'RS_ERR_CLOSED' });
    await expect(store.count()).rejects.toMatchObject({ code: 'RS_ERR_CLOSED' });
  });

  it('crashPartition after close rejects with RS_ERR_CLOSED (it waited for a worker exit that never came, and held the process)', async () => {
    const store = make({ partitions: 1 });
    await store.append({ type: 'o', user: 'u', amount: 1 });
    await store.close();
    await expect(store.crashPartition(0)).rejects.toMatchObject({ code: 'RS_ERR_CLOSED' });
    await expect(store.crashPartition(0, { terminate: true })).rejects.toMatchObject({ code: 'RS_ERR_CLOSED' });
  });

  it('close settles every pending append (committed or RS_ERR_CLOSED) and the process can exit', async () => {
    const store = EventStore.create<Order>({ capacity: 100_000, partitions: 2, key: 'user' });
    const pending = Array.from({ length: 5_000 }, (_, i) => store.append({ type: 'o', user: `u${i % 10}`, amount: i }));
    await store.close();
    const settled = await Promise.allSettled(pending);
    for (const r of settled) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'RS_ERR_CLOSED' });
    }
    expect(settled).toHaveLength(5_000);
  });

  it('after close nothing keeps the process alive (no timers, ports or workers left); a close right after create settles', () => {
    const entry = new URL('../dist/src/index.js', import.meta.url).href;
    // '' and tryAppend only: close() waited for workers still booting while nothing held the event
    // loop, so Node exited (code 13, unsettled top-level await) and the rest of the script never ran.
    for (const work of ["await store.append({ k: 'a' }); await store.count();", '', "store.tryAppend({ k: 'a' });"]) {
      const script = `
        import { EventStore } from '${entry}';
        const store = EventStore.create({ capacity: 100, partitions: 2, key: 'k' });
        ${work}
        await store.close();
        console.log(JSON.stringify(process.getActiveResourcesInfo()));`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
      const active = JSON.parse(out.trim().split('\n').pop()!) as string[];
      expect(active.filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && r !== 'FSReqCallback'), work).toEqual([]);
    }
  });

  it('a store the script forgot to close does not keep the process alive (right after create, and after appends and queries)', () => {
    const entry = new URL('../dist/src/index.js', import.meta.url).href;
    for (const work of ['', "await store.append({ k: 'a' }); await store.count(); store.tryAppend({ k: 'b' });"]) {
      const script = `
        import { EventStore } from '${entry}';
        const store = EventStore.create({ capacity: 100, partitions: 2, key: 'k' });
        ${work}
        console.log('done');`;
      const started = Date.now();
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(out.trim()).toBe('done');
      expect(Date.now() - started).toBeLessThan(15_000); // it exits on its own (the timeout would kill it)
    }
  });

  it('a wake-up lost between a producer clearing SLEEPING and ringing is recovered by the worker within its idle tick', async () => {
    const store = make({ partitions: 1 });
    await store.append({ type: 'o', user: 'u', amount: 1 }); // the worker is up, and then goes to sleep
    const ctl = new Int32Array(store.descriptor().partitions[0]!);
    const SLEEPING = PartitionMemory.ctl(Ctl.SLEEPING);
    const asleep = Date.now() + 5_000;
    while (Atomics.load(ctl, SLEEPING) !== 1 && Date.now() < asleep) await new Promise((r) => setTimeout(r, 5));
    expect(Atomics.load(ctl, SLEEPING)).toBe(1);
    // What a producer thread killed right after its CAS of SLEEPING 1 -> 0 leaves behind: the
    // worker waits on the doorbell, and every later producer sees SLEEPING = 0 and does not ring.
    Atomics.store(ctl, SLEEPING, 0);
    const r = await store.append({ type: 'o', user: 'u', amount: 2 }); // settles only if the worker wakes up on its own
    expect(r.version).toBe(2);
  });

  it('attach rejects what is not a descriptor', () => {
    expect(() => EventStore.attach({} as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_DESCRIPTOR' }));
    const store = make({ key: (e) => e.user });
    expect(() => EventStore.attach(store.descriptor())).toThrow(/key selector is a function/);
  });

  it('an attached producer whose store closed refuses appends as closed, not as "pending"', async () => {
    const store = make({ partitions: 2 });
    const producer = EventStore.attach<Order>(store.descriptor());
    expect((await producer.append({ type: 'o', user: 'u', amount: 1 })).version).toBe(1);
    await store.close();
    const closed = { code: 'RS_ERR_CLOSED', message: 'the store is closed' };
    await expect(producer.append({ type: 'o', user: 'u', amount: 1 })).rejects.toMatchObject(closed);
    await expect(producer.append([{ type: 'o', user: 'v', amount: 1 }, { type: 'o', user: 'w', amount: 1 }])).rejects.toMatchObject(closed);
    expect(() => producer.tryAppend({ type: 'o', user: 'u', amount: 1 })).toThrow(expect.objectContaining(closed));
    await producer.close();
  });
});
