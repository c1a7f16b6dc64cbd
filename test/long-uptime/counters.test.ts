// Counters and sequences after long uptime: each test starts one near its 32-bit bound (by writing the shared
// memory field, or through an image, the way a replica is seeded) and runs real threads across it. A week at
// ~1M events/s is 6e11 events: every 32-bit counter of the hot path wraps, most of them many times.
// What was checked and why the rest is safe: docs/testing.md, "Long uptime".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore, type StoredEvent } from '../../dist/src/index.js';
import { Commit, Ctl, PartitionMemory } from '../../dist/src/ring/layout.js';
// @ts-expect-error plain ESM fixture without types
import { checksum } from '../fixtures/checksum.mjs';
import { runProducer, type ProducerEvent } from '../producer-fixture.helpers.js';

type Ev = ProducerEvent;

const TWO32 = 2 ** 32;

function mem(store: EventStore<unknown>, p = 0): PartitionMemory {
  const d = store.descriptor();
  return new PartitionMemory(d.partitions[p]!, d.geometry);
}

/** A control line's first two Int32 words as one unsigned 64-bit count (little-endian), as written before any fix. */
function setCtl64(m: PartitionMemory, field: number, value: number): void {
  Atomics.store(m.i32, PartitionMemory.ctl(field), value % TWO32 | 0);
  Atomics.store(m.i32, PartitionMemory.ctl(field) + 1, Math.floor(value / TWO32));
}

/** Loads, into an empty store, its own image with the committed input cursor moved to `cursor` (an Int32 value). */
async function moveInputCursor(store: EventStore<unknown>, cursor: number): Promise<void> {
  const [image] = await store.exportImages();
  const v = new DataView(image!.buffer, image!.byteOffset, image!.byteLength);
  // The image is a 64-byte header, then the region from the commit record on: both blocks of it.
  for (const block of [0, 1]) v.setFloat64(64 + (block * 16 + Commit.INPUT) * 8, cursor, true);
  await store.importImages([image!]);
}

const stores: EventStore<unknown>[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('input ring cursors across 2^31 and 2^32 (IN_TAIL, IN_HEAD, Commit.INPUT), ack tickets across 2^31', () => {
  it.each([
    { what: 'the sign flip (2^31)', start: 2 ** 31 - 3000 },
    { what: 'the unsigned wrap (2^32)', start: TWO32 - 3000 },
  ])('$what: 3 tryAppend threads and 1 append thread, a worker killed after the wrap; every event once, in order', async ({ start }) => {
    const store = EventStore.create<Ev>({ capacity: 100_000, partitions: 1, key: 'key', values: { amount: 'amount' }, inputBytes: 65_536, maxEventBytes: 256 });
    stores.push(store as EventStore<unknown>);
    const cursor = start | 0;
    await moveInputCursor(store as EventStore<unknown>, cursor);
    const m = mem(store as EventStore<unknown>);
    // The ack tickets too: every producer slot's last issued ticket 1,000 short of 2^31 (the append thread's
    // 3,000 cross into negative tickets; test/pending-table.test.ts has the single-thread cases).
    for (let p = 0; p < store.descriptor().geometry.maxProducers; p++) new Int32Array(m.sab, m.offsets.acks + p * m.offsets.ackStride, 2)[1] = 2 ** 31 - 1_000;
    expect(Atomics.load(m.i32, PartitionMemory.ctl(Ctl.IN_TAIL))).toBe(cursor);
    expect(Atomics.load(m.i32, PartitionMemory.ctl(Ctl.IN_HEAD))).toBe(cursor);
    // Dies in the drain that reaches 30,000 records: well past the wrap (each record is 64 bytes or more),
    // so its recovery starts from a committed cursor on the far side of the bound.
    const crashed = store.crashPartition(0, { afterRecords: 30_000 });
    const reports = await Promise.all([
      ...[0, 1, 2].map((producer) => runProducer({ descriptor: store.descriptor(), producer, count: 15_000, mode: 'try', keysPerProducer: 3 })),
      runProducer({ descriptor: store.descriptor(), producer: 3, count: 3_000, mode: 'append', keysPerProducer: 2 }),
    ]);
    expect(await crashed).toBe('mid-drain');
    await store.flush();
    const events = (await store.snapshot()) as StoredEvent<Ev>[];
    expect(events).toHaveLength(48_000);
    const positions = events.map((e) => e.position).sort((a, b) => a - b);
    positions.forEach((pos, i) => expect(pos).toBe(i + 1));
    const byKey = new Map<string, StoredEvent<Ev>[]>();
    for (const e of events) {
      if (checksum(e.payload) !== e.payload.c || e.key !== e.payload.key) throw new Error(`torn event at ${e.position}`);
      byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    }
    for (const list of byKey.values()) {
      list.sort((a, b) => a.version - b.version);
      list.forEach((e, i) => {
        expect(e.version).toBe(i + 1);
        if (i > 0) expect(e.payload.s).toBeGreaterThan(list[i - 1]!.payload.s);
      });
    }
    // Every acked append names the event stored at its position.
    const byPos = new Map(events.map((e) => [e.position, e]));
    for (const [, position, version] of reports[3]!.acked) expect(byPos.get(position!)?.version).toBe(version);
    expect(new Set(reports[3]!.acked.map((a) => a[1])).size).toBe(3_000);
    const slot = store.descriptor().geometry.maxProducers;
    const lastTickets = Array.from({ length: slot }, (_, p) => new Int32Array(m.sab, m.offsets.acks + p * m.offsets.ackStride, 2)[1]!);
    expect(lastTickets.some((t) => t < 0), String(lastTickets)).toBe(true); // some slot did cross 2^31
    // The run did cross the bound: the cursor moved by more than the distance to it, and the ring is empty.
    const tail = Atomics.load(m.i32, PartitionMemory.ctl(Ctl.IN_TAIL));
    expect(Atomics.load(m.i32, PartitionMemory.ctl(Ctl.IN_HEAD))).toBe(tail);
    expect(((tail - cursor) >>> 0)).toBeGreaterThan(3000);
    if (start === 2 ** 31 - 3000) expect(tail).toBeLessThan(0);
    else expect(tail >>> 0).toBeLessThan(cursor >>> 0);
    // Refusals reported by the threads are the store's count, exactly.
    expect(store.stats.refused).toBe(reports.reduce((n, r) => n + r.refusals, 0));
    expect(store.stats.appended).toBe(48_000);
  }, 60_000);
});

describe('Ctl.REFUSED past 2^31 and 2^32 (stats.refused, /metrics ringstore_store_refused_appends)', () => {
  it.each([
    { what: '2^31 - 1', start: 2 ** 31 - 1 },
    { what: '2^32 - 1', start: TWO32 - 1 },
  ])('a tryAppend flood from $what on: the count goes on up, never negative or back to 0', async ({ start }) => {
    const store = EventStore.create<Ev>({ capacity: 50_000, partitions: 1, key: 'key', values: { amount: 'amount' }, inputBytes: 65_536, maxEventBytes: 256 });
    stores.push(store as EventStore<unknown>);
    setCtl64(mem(store as EventStore<unknown>), Ctl.REFUSED, start);
    const reports = await Promise.all([0, 1, 2].map((producer) => runProducer({ descriptor: store.descriptor(), producer, count: 10_000, mode: 'try', keysPerProducer: 2 })));
    const refusals = reports.reduce((n, r) => n + r.refusals, 0);
    expect(refusals).toBeGreaterThan(0); // the flood did cross the bound
    expect(store.stats.refused).toBe(start + refusals);
    expect(store.stats.partitions[0]!.refused).toBe(start + refusals);
  }, 60_000);
});

describe('Ctl.COMMIT_FENCE past 2^31 and 2^32 (commitCount, waitForCommit)', () => {
  it.each([
    { what: '2^31', start: 2 ** 31 - 3 },
    { what: '2^32', start: TWO32 - 3 },
  ])('across $what: commitCount stays an unsigned count and waitForCommit sees every commit', async ({ start }) => {
    const store = EventStore.create<{ k: string }>({ capacity: 1_000, partitions: 1, key: 'k' });
    stores.push(store as EventStore<unknown>);
    await store.flush();
    Atomics.store(mem(store as EventStore<unknown>).i32, PartitionMemory.ctl(Ctl.COMMIT_FENCE), start | 0);
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      const before = store.commitCount(0);
      seen.push(before);
      expect(before).toBeGreaterThanOrEqual(0);
      expect(before).toBeLessThan(TWO32);
      const moved = store.waitForCommit(0, before, 10_000);
      await store.append({ k: `k${i}` });
      expect(await moved).toBe(true);
      expect(store.commitCount(0)).not.toBe(before);
      // A value kept from before the fix (signed) names the same count.
      expect(await store.waitForCommit(0, before | 0, 0)).toBe(true);
    }
    // Counted modulo 2^32 from the start, one commit (at least) per awaited append.
    const steps = seen.map((c) => (c - (start >>> 0) + TWO32) % TWO32);
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThan(steps[i - 1]!);
    expect(steps[steps.length - 1]).toBeGreaterThan(3); // crossed the bound
    expect(() => store.waitForCommit(0, TWO32)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => store.waitForCommit(0, 1.5)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
  });
});

describe('the rate gauge of a worker that starts on a history: an import, a reopen (a restart takes the same baseline)', () => {
  it('a store loaded from an image of a long history reports no appends until it gets some', async () => {
    const opts = { capacity: 20_000, partitions: 2, key: 'k' } as const;
    const a = EventStore.create<{ k: string }>(opts);
    stores.push(a as EventStore<unknown>);
    await a.append(Array.from({ length: 10_000 }, (_, i) => ({ k: `k${i % 50}` })));
    const images = await a.exportImages();
    const b = EventStore.create<{ k: string }>(opts);
    stores.push(b as EventStore<unknown>);
    await b.importImages(images);
    expect(b.stats.appended).toBe(10_000);
    // Before the fix: 1,000/s (the image's 10,000 appends counted in the current second).
    expect(b.stats.appendsPerSecond).toBe(0);
    expect(b.stats.lastAppendTime).toBe(a.stats.lastAppendTime); // the image's (its gauges travel with it)
    await b.append(Array.from({ length: 100 }, (_, i) => ({ k: `n${i}` })));
    await b.flush(); // the gauge is published after the acks
    expect(b.stats.appendsPerSecond).toBeGreaterThan(0);
    expect(b.stats.appendsPerSecond).toBeLessThanOrEqual(100 / 10);
    expect(b.stats.lastAppendTime).not.toBeNull();
  });

  it('a worker restarted on its memory starts from 0, not from the partition\'s history', async () => {
    const store = EventStore.create<{ k: string }>({ capacity: 20_000, partitions: 1, key: 'k' });
    stores.push(store as EventStore<unknown>);
    await store.append(Array.from({ length: 10_000 }, (_, i) => ({ k: `k${i % 50}` })));
    await store.flush();
    const last = store.stats.lastAppendTime;
    expect(await store.crashPartition(0)).toBe('rpc');
    await store.flush(); // answered by the restarted worker, after its recovery's commit point
    expect(store.stats.restarts).toBe(1);
    expect(store.stats.appendsPerSecond).toBe(0); // before the fix: 1,000/s, the 10,000 appends of its history
    expect(store.stats.lastAppendTime).toBe(last);
  });

  it('a durable store reopened: the replayed log is history, not ingest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-uptime-'));
    dirs.push(dir);
    const opts = { capacity: 20_000, partitions: 1, key: 'k', durability: { dir, fsync: 'never' as const, checkpointIntervalMs: 3_600_000 } };
    const a = await EventStore.open<{ k: string }>(opts);
    await a.append(Array.from({ length: 5_000 }, (_, i) => ({ k: `k${i % 50}` })));
    await a.flush();
    const last = a.stats.lastAppendTime;
    expect(last).not.toBeNull();
    await a.close();
    const b = await EventStore.open<{ k: string }>(opts);
    stores.push(b as EventStore<unknown>);
    expect(b.stats.appended).toBe(5_000);
    expect(b.stats.appendsPerSecond).toBe(0); // before the fix: 500/s
    expect(b.stats.lastAppendTime).toBe(last); // the checkpoint's; before the fix, the replay's: the reopen
    await b.append({ k: 'x' });
    await b.flush(); // the gauge is published after the acks
    expect(b.stats.appendsPerSecond).toBe(0.1);
    expect(b.stats.lastAppendTime).not.toBeNull();
  });
});
