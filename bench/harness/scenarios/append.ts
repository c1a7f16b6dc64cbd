/** Append-only: ringstore from the main thread over 1..P partitions and from 1..K producer threads (piscina), against the floors and peers. */
import { intList } from '../args.js';
import { missing } from '../optional.js';
import { arrayPushFloor, emmettPeer, jsonEncodeFloor, plainRingPeer, redisPeer } from '../peers.js';
import type { Case, Scenario } from '../types.js';
import { appendRound, makeEvents, objectStore, POOL, producerPool, threadedRound, type BenchEvent } from './common.js';
import type { EventStore } from '../../../src/index.js';

const ENCODE = 'floor: JSON.stringify + encodeInto loop';

export const appendScenario: Scenario = {
  name: 'append',
  title: 'Append-only, 1..N partitions and producer threads',
  description:
    'tryAppend of a ~140-byte JSON event (7 fields, keyed by user, one declared value), retried when refused, then flush(): events committed per second. ' +
    'Main-thread rows scale partitions; thread rows scale producer threads attached by descriptor (a piscina pool) on the largest partition count.',
  reference: ENCODE,
  default: true,
  params: {
    events: { default: 200_000, help: 'events appended per round and case' },
    partitions: { default: '1,2', help: 'partition counts of the main-thread rows (comma-separated)' },
    producers: { default: '1,2', help: 'producer-thread counts (comma-separated), on the largest partition count' },
    capacity: { default: 262_144, help: 'store capacity (the ring wraps)' },
  },
  cases(ctx) {
    const n = Number(ctx.params.events);
    const capacity = Number(ctx.params.capacity);
    const parts = intList(ctx.params.partitions, 'partitions');
    const threads = intList(ctx.params.producers, 'producers');
    const pMax = Math.max(...parts);
    const pool = makeEvents(POOL, 1);
    const cases: Case[] = [];
    let start = 0;
    for (const p of parts) {
      let store: EventStore<BenchEvent>;
      cases.push({
        name: `ringstore tryAppend, main thread, ${p} partition${p > 1 ? 's' : ''}`,
        role: 'subject',
        vs: p === parts[0] ? ENCODE : `ringstore tryAppend, main thread, ${parts[0]} partition${parts[0] > 1 ? 's' : ''}`,
        setup: () => void (store = objectStore(p, capacity)),
        run: async () => appendRound(store, pool, n, (start += n)),
        teardown: () => store.close(),
      });
    }
    let threadStore: EventStore<BenchEvent>;
    let piscina: Awaited<ReturnType<typeof producerPool>> | undefined;
    const noPiscina = missing('piscina');
    const firstThreads = `ringstore, ${threads[0]} producer thread${threads[0] > 1 ? 's' : ''} (piscina), ${pMax} partition${pMax > 1 ? 's' : ''}`;
    threads.forEach((k, i) => {
      cases.push({
        name: `ringstore, ${k} producer thread${k > 1 ? 's' : ''} (piscina), ${pMax} partition${pMax > 1 ? 's' : ''}`,
        role: 'subject',
        vs: i === 0 ? ENCODE : firstThreads,
        ...(noPiscina !== null ? { skip: noPiscina } : {}),
        setup: async () => {
          if (i > 0) return;
          threadStore = objectStore(pMax, capacity);
          piscina = await producerPool(Math.max(...threads));
        },
        run: async (r) => threadedRound(piscina!, threadStore, k, n, r * n, 11),
        teardown: async () => {
          if (i > 0) return;
          await piscina?.destroy();
          await threadStore.close();
        },
      });
    });
    if (ctx.subjectsOnly) return cases;
    return (async () => [
      ...cases,
      jsonEncodeFloor(pool, n, ENCODE),
      arrayPushFloor(pool, n),
      plainRingPeer(pool, n, capacity),
      await emmettPeer(pool, Math.min(n, 20_000), (e) => e.user, 'peer: Emmett in-memory appendToStream(user, [event])'),
      await redisPeer(ctx, pool, n, capacity),
    ])();
  },
};
