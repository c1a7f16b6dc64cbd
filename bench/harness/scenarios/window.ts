/** Window aggregates and filtered scans over Zipf-skewed keys with a chosen filter selectivity. */
import { intList } from '../args.js';
import { keep, now } from '../peers.js';
import type { Case, Scenario } from '../types.js';
import { appendLoop, rng, sharedBytesOf, timedCalls, zipf } from './common.js';
import { EventStore } from '../../../src/index.js';

interface Tiny {
  k: string;
  a: number;
}

const BARE = 'floor: Float64Array loop, same filter, 1 thread';
const RPC = 'floor: RPC round trip, count() with no filter';

export const windowScenario: Scenario = {
  name: 'window',
  title: 'Window aggregates and filtered scans, Zipf keys',
  description:
    'A store filled with tiny events {k, a}: keys drawn from a Zipf distribution, a uniform in 0..99. Scans run sum(a) where a < 100 x selectivity in the partition workers ' +
    '(events scanned per second); windowAggregate, top(10) and per-key counts are queries per second against the RPC floor. Latencies are per call.',
  reference: BARE,
  default: true,
  params: {
    events: { default: 1_000_000, help: 'events in each store' },
    keys: { default: 10_000, help: 'distinct keys' },
    zipf: { default: 1.1, help: 'Zipf exponent of the key distribution' },
    selectivity: { default: 0.1, max: 1, help: 'fraction of events the scan filter keeps (0..1)' },
    partitions: { default: '1,2', help: 'partition counts (comma-separated): one store each' },
    queries: { default: 10, help: 'calls per round and case' },
  },
  cases(ctx) {
    const n = Number(ctx.params.events);
    const nKeys = Number(ctx.params.keys);
    const sel = Number(ctx.params.selectivity);
    const q = Number(ctx.params.queries);
    const parts = intList(ctx.params.partitions, 'partitions');
    const pMax = Math.max(...parts);
    const threshold = Math.round(100 * sel);
    const where = { values: { a: { lt: threshold } } };
    const draw = zipf(nKeys, Number(ctx.params.zipf), 7);
    const r = rng(8);
    const POOL = 1 << 16;
    const pool: Tiny[] = Array.from({ length: POOL }, () => ({ k: `k${draw()}`, a: Math.floor(r() * 100) }));
    const hot = 'k0';
    const cold = `k${nKeys - 1}`;
    const stores = new Map<number, EventStore<Tiny>>();
    let from = 0;
    const fill = async (p: number): Promise<void> => {
      const store = EventStore.create<Tiny>({
        capacity: n, partitions: p, payloadBytes: n * 64, key: 'k', values: { a: 'a' },
        window: { sizeMs: 600_000, bucketMs: 1000 },
      });
      from = from || Date.now();
      const t = now();
      await appendLoop(store, pool, n, 0);
      await store.flush();
      ctx.log(`filled ${store.stats.live} events over ${p} partition(s) in ${((now() - t) / 1000).toFixed(1)} s`);
      stores.set(p, store);
    };
    const cases: Case[] = [];
    parts.forEach((p, i) => {
      cases.push({
        name: `ringstore sum(a) where a < ${threshold} (${sel * 100}% kept), ${p} partition${p > 1 ? 's' : ''}`,
        role: 'subject',
        op: 'events scanned',
        vs: i === 0 ? BARE : `ringstore sum(a) where a < ${threshold} (${sel * 100}% kept), ${parts[0]} partition${parts[0] > 1 ? 's' : ''}`,
        setup: () => fill(p),
        run: async () => ({ ...(await timedCalls(q, () => stores.get(p)!.sum('a', { where }), stores.get(p)!.stats.live)), sharedBytes: sharedBytesOf(stores.get(p)! as EventStore<unknown>) }),
      });
    });
    const big = (): EventStore<Tiny> => stores.get(pMax)!;
    const suffix = `, ${pMax} partition${pMax > 1 ? 's' : ''}`;
    cases.push(
      { name: `ringstore windowAggregate(a), 600 x 1 s buckets${suffix}`, role: 'subject', op: 'queries', vs: RPC, run: () => timedCalls(q * 5, () => big().windowAggregate('a', { from, to: Date.now() }), 1) },
      { name: `ringstore top(10, a) over Zipf keys${suffix}`, role: 'subject', op: 'queries', vs: RPC, run: () => timedCalls(q, () => big().top(10, 'a'), 1) },
      { name: `ringstore count({ keys: [hottest key] })${suffix}`, role: 'subject', op: 'queries', vs: RPC, run: () => timedCalls(q, () => big().count({ keys: [hot] }), 1) },
      { name: `ringstore count({ keys: [coldest key] })${suffix}`, role: 'subject', op: 'queries', vs: RPC, run: () => timedCalls(q, () => big().count({ keys: [cold] }), 1) },
      { name: RPC, role: ctx.subjectsOnly ? 'subject' : 'floor', op: 'queries', vs: RPC, run: () => timedCalls(q * 5, () => big().count(), 1) },
    );
    // Close every store after the last case that uses them.
    const last = cases[cases.length - 1];
    last.teardown = async () => {
      for (const s of stores.values()) await s.close();
    };
    if (ctx.subjectsOnly) return cases;
    // Floors and peers over the same values (one thread, main thread).
    const values = new Float64Array(n);
    const objects: Tiny[] = new Array(n);
    for (let i = 0; i < n; i++) {
      values[i] = pool[i & (POOL - 1)].a;
      objects[i] = pool[i & (POOL - 1)];
    }
    cases.push(
      {
        name: BARE, role: 'floor', op: 'events scanned',
        run: () => timedCalls(q, async () => {
          let s = 0;
          for (let i = 0; i < values.length; i++) if (values[i] < threshold) s += values[i];
          keep(s);
        }, n),
      },
      {
        name: 'peer: for-loop over an array of event objects, same filter', role: 'peer', op: 'events scanned',
        run: () => timedCalls(q, async () => {
          let s = 0;
          for (let i = 0; i < objects.length; i++) if (objects[i].a < threshold) s += objects[i].a;
          keep(s);
        }, n),
      },
    );
    return cases;
  },
};
