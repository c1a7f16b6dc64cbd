import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { EventStore, type StoredEvent } from '../dist/src/index.js';
// @ts-expect-error plain ESM fixture without types
import { checksum } from './fixtures/checksum.mjs';

interface Ev {
  key: string;
  p: number;
  s: number;
  pad: string;
  amount: number;
  c: number;
}

const FIXTURE = new URL('./fixtures/producer.mjs', import.meta.url);
const READER = new URL('./fixtures/reader.mjs', import.meta.url);

function runReader(workerData: Record<string, unknown>): Promise<{ reads: number; events: number; problems: string[]; problemCount: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(READER, { workerData });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

function runProducer(workerData: Record<string, unknown>): Promise<{ producer: number; accepted: number; refusals: number; acked: number[][] }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(FIXTURE, { workerData });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`producer exited ${code}`)));
  });
}

function verify(e: StoredEvent<Ev>): void {
  if (checksum(e.payload) !== e.payload.c || e.key !== e.payload.key || e.values.amount !== e.payload.amount) {
    throw new Error(`torn event at partition ${e.partition} position ${e.position}: ${JSON.stringify(e)}`);
  }
}

describe('real threads under contention', () => {
  it('4 producer threads + 2 RPC readers + 2 shared-memory reader threads during wrap-around: 0 torn, 0 duplicated, 0 lost, exact accounting', async () => {
    const PRODUCERS = 4;
    const PER_PRODUCER = 500_000;
    const discarded: StoredEvent<Ev>[][] = [];
    const store = EventStore.create<Ev>({
      capacity: 4096,
      partitions: 2,
      key: 'key',
      values: { amount: 'amount' },
      onDiscarded: (events) => discarded.push(events),
    });
    let reading = true;
    let snapshots = 0;
    let checked = 0;
    const reader = async (): Promise<void> => {
      while (reading) {
        const seen = new Set<string>();
        const lastVersion = new Map<string, number>();
        for (const e of await store.snapshot()) {
          verify(e);
          const id = `${e.payload.p}:${e.payload.s}`;
          expect(seen.has(id)).toBe(false);
          seen.add(id);
          // per key, versions follow the producer's own order
          const prev = lastVersion.get(e.key);
          if (prev !== undefined) expect(e.version).toBeGreaterThan(prev);
          lastVersion.set(e.key, e.version);
          checked++;
        }
        snapshots++;
      }
    };
    const readers = [reader(), reader()];
    // Two more readers in their own threads, reading shared memory directly (seqlock-validated).
    const stop = new SharedArrayBuffer(4);
    const threadReaders = [runReader({ descriptor: store.descriptor(), stop }), runReader({ descriptor: store.descriptor(), stop })];
    const results = await Promise.all(
      Array.from({ length: PRODUCERS }, (_, producer) =>
        runProducer({ descriptor: store.descriptor(), producer, count: PER_PRODUCER, mode: 'try', keysPerProducer: 16 }),
      ),
    );
    await store.flush();
    reading = false;
    await Promise.all(readers);
    Atomics.store(new Int32Array(stop), 0, 1);
    for (const r of await Promise.all(threadReaders)) {
      expect(r.problems).toEqual([]);
      expect(r.reads).toBeGreaterThan(2);
      expect(r.events).toBeGreaterThan(0);
    }
    // Evictions are delivered asynchronously after each batch: wait for them all.
    const live = await store.snapshot();
    const accepted = results.reduce((n, r) => n + r.accepted, 0);
    for (let i = 0; i < 200; i++) {
      if (discarded.reduce((n, d) => n + d.length, 0) + live.length >= accepted) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const stats = store.stats;
    expect(accepted).toBe(PRODUCERS * PER_PRODUCER);
    expect(stats.appended).toBe(accepted);
    expect(stats.appended).toBe(stats.live + stats.discarded + stats.rejected);
    expect(stats.rejected).toBe(0);
    expect(stats.live).toBe(live.length);
    expect(stats.live).toBeLessThanOrEqual(store.capacity);
    for (const p of stats.partitions) expect(p.live).toBeLessThanOrEqual(p.capacity);

    // Every event is exactly once in evicted ∪ live, untorn.
    const seen = new Uint8Array(PRODUCERS * PER_PRODUCER);
    let evicted = 0;
    for (const batch of discarded) {
      for (const e of batch) {
        verify(e);
        seen[e.payload.p * PER_PRODUCER + e.payload.s]++;
        evicted++;
      }
    }
    for (const e of live) {
      verify(e);
      seen[e.payload.p * PER_PRODUCER + e.payload.s]++;
    }
    expect(evicted).toBe(stats.discarded);
    let missing = 0;
    let twice = 0;
    for (const n of seen) {
      if (n === 0) missing++;
      if (n > 1) twice++;
    }
    expect({ missing, twice }).toEqual({ missing: 0, twice: 0 });
    // the ring wrapped many times and the readers really read during it
    expect(stats.discarded).toBeGreaterThan(100 * store.capacity);
    expect(snapshots).toBeGreaterThan(2);
    expect(checked).toBeGreaterThan(0);

    // The evicted were the oldest: per partition, evicted positions all precede live ones.
    for (let p = 0; p < store.partitions; p++) {
      let minLive = Infinity;
      for (const e of live) if (e.partition === p && e.position < minLive) minLive = e.position;
      let maxEvicted = -Infinity;
      for (const batch of discarded) for (const e of batch) if (e.partition === p && e.position > maxEvicted) maxEvicted = e.position;
      expect(maxEvicted).toBeLessThan(minLive);
    }
    await store.close();
  }, 240_000);

  it('positions increase by one per partition and versions by one per key (guarantee 1)', async () => {
    const store = EventStore.create<Ev>({ capacity: 200_000, partitions: 2, key: 'key', values: { amount: 'amount' } });
    await Promise.all(
      Array.from({ length: 3 }, (_, producer) =>
        runProducer({ descriptor: store.descriptor(), producer, count: 20_000, mode: 'try', keysPerProducer: 4 }),
      ),
    );
    await store.flush();
    const events = await store.snapshot();
    expect(events).toHaveLength(60_000);
    for (let p = 0; p < 2; p++) {
      const positions = events.filter((e) => e.partition === p).map((e) => e.position).sort((a, b) => a - b);
      positions.forEach((pos, i) => expect(pos).toBe(i + 1));
    }
    const byKey = new Map<string, StoredEvent<Ev>[]>();
    for (const e of events) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    for (const list of byKey.values()) {
      list.sort((a, b) => a.version - b.version);
      list.forEach((e, i) => {
        expect(e.version).toBe(i + 1);
        if (i > 0) expect(e.payload.s).toBeGreaterThan(list[i - 1].payload.s); // producer order kept
        if (i > 0) expect(e.position).toBeGreaterThan(list[i - 1].position);
      });
    }
    await store.close();
  }, 120_000);

  it('purge during appends from producer threads removes only what is older than the cutoff', async () => {
    const store = EventStore.create<Ev>({ capacity: 200_000, partitions: 2, key: 'key', values: { amount: 'amount' } });
    const producers = Array.from({ length: 2 }, (_, producer) =>
      runProducer({ descriptor: store.descriptor(), producer, count: 40_000, mode: 'try', keysPerProducer: 8 }),
    );
    while (store.stats.appended < 2_000) await new Promise((r) => setTimeout(r, 5));
    const cutoff = Date.now() + 1;
    const purged = await store.purge({ olderThan: cutoff });
    expect(purged).toBeGreaterThan(0);
    await Promise.all(producers);
    await store.flush();
    const events = await store.snapshot();
    const s = store.stats;
    expect(s.purged).toBe(purged);
    expect(s.appended).toBe(80_000);
    expect(s.appended).toBe(s.live + s.discarded + s.rejected + s.purged);
    expect(events).toHaveLength(80_000 - purged);
    // what was purged is gone, and nothing is there twice
    const kept = new Set(events.map((e) => `${e.payload.p}:${e.payload.s}`));
    for (const e of events) verify(e);
    expect(kept.size).toBe(events.length);
    // Per key the survivors are a suffix: purge removed each key's oldest events. (Per producer
    // they need not be: each partition purges atomically, but the two partitions purge at
    // slightly different moments, and a producer's keys are spread over both.)
    for (let p = 0; p < 2; p++) {
      for (let k = 0; k < 8; k++) {
        const seqs = events.filter((e) => e.payload.p === p && e.payload.s % 8 === k).map((e) => e.payload.s).sort((a, b) => a - b);
        if (seqs.length === 0) continue;
        expect(seqs[seqs.length - 1], `producer ${p} key ${k}: the newest survives`).toBe(k + 8 * Math.floor((40_000 - 1 - k) / 8));
        expect(seqs[seqs.length - 1] - seqs[0], `producer ${p} key ${k}: no gap`).toBe(8 * (seqs.length - 1));
      }
    }
  }, 120_000);

  it('killing a partition worker under load loses no committed event, and the store keeps serving (guarantee 6)', async () => {
    const store = EventStore.create<Ev>({ capacity: 400_000, partitions: 2, key: 'key', values: { amount: 'amount' } });
    const producers = Array.from({ length: 2 }, (_, producer) =>
      runProducer({ descriptor: store.descriptor(), producer, count: 15_000, mode: 'append', keysPerProducer: 8 }),
    );
    await new Promise((r) => setTimeout(r, 150));
    await store.crashPartition(0);
    await new Promise((r) => setTimeout(r, 50));
    await store.crashPartition(1);
    const results = await Promise.all(producers);
    await store.flush();
    const events = await store.snapshot();
    const ids = new Set(events.map((e) => `${e.payload.p}:${e.payload.s}`));
    // every acked append is there, exactly once, at the position it was acked with
    const at = new Map(events.map((e) => [`${e.partition}:${e.position}`, e]));
    for (const r of results) {
      expect(r.acked).toHaveLength(15_000);
      r.acked.forEach(([partition, position], s) => {
        const e = at.get(`${partition}:${position}`);
        expect(e?.payload.p).toBe(r.producer);
        expect(e?.payload.s).toBe(s);
      });
    }
    expect(ids.size).toBe(events.length);
    expect(events).toHaveLength(30_000);
    for (const e of events) verify(e);
    const stats = store.stats;
    expect(stats.restarts).toBeGreaterThanOrEqual(2);
    expect(stats.appended).toBe(stats.live + stats.discarded + stats.rejected);
    // still serving: appends, conflicts and versions continue where they were
    const key = events[0].key;
    const version = Math.max(...events.filter((e) => e.key === key).map((e) => e.version));
    const next = await store.append({ ...events[0].payload, s: -1 }, { expectedVersion: version });
    expect(next.version).toBe(version + 1);
    await expect(store.append(events[0].payload, { expectedVersion: version })).rejects.toMatchObject({ code: 'RS_ERR_CONFLICT' });
    await store.close();
  }, 120_000);
});
