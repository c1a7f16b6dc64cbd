import { describe, expect, it } from 'vitest';
import { EventStore, type StoredEvent } from '../dist/src/index.js';
// @ts-expect-error plain ESM fixture without types
import { checksum } from './fixtures/checksum.mjs';
import { runProducer, type ProducerEvent } from './producer-fixture.helpers.js';

type Ev = ProducerEvent;


function verify(e: StoredEvent<Ev>): void {
  if (checksum(e.payload) !== e.payload.c || e.key !== e.payload.key || e.values.amount !== e.payload.amount) {
    throw new Error(`torn event at partition ${e.partition} position ${e.position}: ${JSON.stringify(e)}`);
  }
}

// The wrap-around case (4 producer threads and 4 readers through a 4,096-event ring) is in test/stress.
describe('real threads under contention', () => {
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
