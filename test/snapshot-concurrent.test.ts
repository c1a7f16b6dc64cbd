/**
 * snapshot() and events() while producer threads append and the rings wrap
 * many times over: every returned event is whole (its payload checksum, key
 * and declared value agree), none is there twice, the order is timestamp,
 * then partition, then position, and each partition's part of a result is
 * one instant of that partition: a contiguous run of positions (nothing
 * purged here), each key's versions consecutive within it. Events evicted
 * while a snapshot runs are therefore excluded as a block (everything older
 * goes with them), never as holes.
 */
import { describe, expect, it } from 'vitest';
import { EventStore, type StoredEvent } from '../dist/src/index.js';
// @ts-expect-error plain ESM fixture without types
import { checksum } from './fixtures/checksum.mjs';
import { runProducer, type ProducerEvent } from './producer-fixture.helpers.js';

type Ev = ProducerEvent;

const CAPACITY = 1024;

/** Throws unless the result is whole, free of duplicates, in order, and one contiguous instant per partition. */
function verify(events: StoredEvent<Ev>[], partitions: number[], opts: { from?: number; to?: number; limit?: number } = {}): void {
  const seen = new Set<string>();
  const byPartition = new Map<number, StoredEvent<Ev>[]>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (checksum(e.payload) !== e.payload.c || e.key !== e.payload.key || e.values.amount !== e.payload.amount || typeof e.id !== 'string' || e.id.length === 0) {
      throw new Error(`torn event at partition ${e.partition} position ${e.position}: ${JSON.stringify(e)}`);
    }
    const id = `${e.partition}:${e.position}`;
    if (seen.has(id)) throw new Error(`duplicate ${id}`);
    seen.add(id);
    if (!partitions.includes(e.partition)) throw new Error(`partition ${e.partition} was not asked for`);
    if (opts.from !== undefined && e.timestamp < opts.from) throw new Error('before from');
    if (opts.to !== undefined && e.timestamp > opts.to) throw new Error('after to');
    if (i > 0) {
      const d = events[i - 1];
      const ordered = d.timestamp < e.timestamp || (d.timestamp === e.timestamp && (d.partition < e.partition || (d.partition === e.partition && d.position < e.position)));
      if (!ordered) throw new Error(`out of order at ${i}: ${d.partition}:${d.position}@${d.timestamp} then ${id}@${e.timestamp}`);
    }
    byPartition.set(e.partition, [...(byPartition.get(e.partition) ?? []), e]);
  }
  if (opts.from !== undefined || opts.to !== undefined || opts.limit !== undefined) return; // a range or a limit cuts runs by time, not position
  for (const [p, list] of byPartition) {
    list.sort((a, b) => a.position - b.position);
    if (list.length > CAPACITY) throw new Error(`partition ${p}: ${list.length} events in a ring of ${CAPACITY}`);
    const versions = new Map<string, number>();
    list.forEach((e, i) => {
      if (i > 0 && e.position !== list[i - 1].position + 1) throw new Error(`partition ${p}: hole between ${list[i - 1].position} and ${e.position}`);
      const v = versions.get(e.key);
      if (v !== undefined && e.version !== v + 1) throw new Error(`partition ${p}: key ${e.key} version ${v} then ${e.version}`);
      versions.set(e.key, e.version);
    });
  }
}

describe('snapshot() with producer threads wrapping the ring', () => {
  it('returns whole events, no duplicates, in order, one contiguous run of positions per partition', async () => {
    const store = EventStore.create<Ev>({ capacity: CAPACITY, partitions: 2, key: 'key', values: { amount: 'amount' } });
    try {
      const producers = Array.from({ length: 2 }, (_, producer) =>
        runProducer({ descriptor: store.descriptor(), producer, count: 60_000, mode: 'try', keysPerProducer: 16 }),
      );
      let done = false;
      void Promise.all(producers).then(() => (done = true), () => (done = true));
      let reads = 0;
      let wrappedReads = 0;
      let readsDuringAppends = 0;
      while (!done || reads < 8) {
        const full = await store.snapshot();
        verify(full, [0, 1]);
        if (full.some((e) => e.position > CAPACITY)) wrappedReads++;
        verify(await store.snapshot({ partitions: [1] }), [1]);
        const mid = full.length > 0 ? full[full.length >> 1].timestamp : Date.now();
        verify(await store.snapshot({ from: mid }), [0, 1], { from: mid });
        verify(await store.snapshot({ to: mid, limit: 100 }), [0, 1], { to: mid, limit: 100 });
        verify(await store.snapshot({ filter: (e) => e.payload.s % 2 === 0 }), [0, 1], { limit: 0 });
        const streamed: StoredEvent<Ev>[] = [];
        for await (const e of store.events()) streamed.push(e);
        verify(streamed, [0, 1]);
        reads++;
        if (!done) readsDuringAppends++;
      }
      await Promise.all(producers);
      expect(wrappedReads).toBeGreaterThan(0);
      expect(readsDuringAppends).toBeGreaterThan(1); // the reads overlapped the appends
      await store.flush();
      const last = await store.snapshot();
      verify(last, [0, 1]);
      expect(new Set(last.map((e) => e.partition)).size).toBe(2);
    } finally {
      await store.close();
    }
  }, 120_000);
});
