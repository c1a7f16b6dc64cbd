/** Mixed hot and cold keys: most events go to a few keys (hot partitions, long per-key histories). */
import { emmettPeer, jsonEncodeFloor, now, PlainRing, redisPeer } from '../peers.js';
import type { Case, Scenario } from '../types.js';
import { rng, sharedBytesOf, timedCalls } from './common.js';
import { EventStore } from '../../../src/index.js';

interface Order {
  type: string;
  account: string;
  amount: number;
  note: string;
}

const ENCODE = 'floor: JSON.stringify + encodeInto loop';
const RPC = 'floor: RPC round trip, count() with no filter';
const EMMETT = 'peer: Emmett in-memory appendToStream(account, [event])';

export const hotColdScenario: Scenario = {
  name: 'hotcold',
  title: 'Mixed hot and cold keys',
  description:
    'A share of the events (default 90%) goes to a few hot keys (default 1% of the keys), the rest spreads over the cold ones. ' +
    'tryAppend throughput, append() latency with a window of appends in flight (per-key versions), and per-key count() of a hot and a cold key.',
  reference: ENCODE,
  default: true,
  params: {
    events: { default: 200_000, help: 'events per round for tryAppend and the floors' },
    appends: { default: 20_000, help: 'awaited append() calls per round' },
    inflight: { default: 64, help: 'append() calls in flight' },
    keys: { default: 1000, help: 'distinct keys' },
    hotKeys: { default: 0.01, max: 1, help: 'fraction of keys that are hot' },
    hotShare: { default: 0.9, max: 1, help: 'fraction of events going to hot keys' },
    partitions: { default: 2, help: 'partitions' },
    capacity: { default: 262_144, help: 'store capacity' },
    queries: { default: 20, help: 'count() calls per round' },
  },
  cases(ctx) {
    const n = Number(ctx.params.events);
    const appends = Number(ctx.params.appends);
    const inflight = Number(ctx.params.inflight);
    const nKeys = Number(ctx.params.keys);
    const nHot = Math.max(1, Math.round(nKeys * Number(ctx.params.hotKeys)));
    const share = Number(ctx.params.hotShare);
    const q = Number(ctx.params.queries);
    const r = rng(21);
    const POOL = 1 << 16;
    const notes = ['card', 'transfer', 'cash', 'refund'];
    const pool: Order[] = Array.from({ length: POOL }, (_, i) => {
      const k = r() < share ? Math.floor(r() * nHot) : nHot + Math.floor(r() * (nKeys - nHot));
      return { type: i % 5 === 0 ? 'refund' : 'order', account: `acct-${k}`, amount: Math.round(r() * 10_000) / 100, note: notes[i & 3] };
    });
    let store: EventStore<Order>;
    let start = 0;
    const cases: Case[] = [
      {
        name: `ringstore tryAppend, hot/cold keys, ${String(ctx.params.partitions)} partitions`,
        role: 'subject',
        setup: () => {
          store = EventStore.create<Order>({
            capacity: Number(ctx.params.capacity), partitions: Number(ctx.params.partitions), key: 'account', values: { amount: 'amount' },
          });
        },
        async run() {
          const t = now();
          for (let i = 0; i < n; i++) {
            const e = pool[(start + i) & (POOL - 1)];
            while (!store.tryAppend(e)) await new Promise((res) => setImmediate(res));
          }
          await store.flush();
          start += n;
          const per = store.stats.partitions.map((p) => p.committed);
          return { ops: n, ms: now() - t, sharedBytes: sharedBytesOf(store as EventStore<unknown>), note: `committed per partition: ${per.join(' / ')}` };
        },
      },
      {
        name: `ringstore append() awaited, ${inflight} in flight`,
        role: 'subject',
        vs: EMMETT,
        async run() {
          const lat = new Float64Array(appends);
          let next = 0;
          const t = now();
          const lane = async (): Promise<void> => {
            while (next < appends) {
              const i = next++;
              const t0 = now();
              await store.append(pool[(start + i) & (POOL - 1)]);
              lat[i] = now() - t0;
            }
          };
          await Promise.all(Array.from({ length: inflight }, lane));
          start += appends;
          return { ops: appends, ms: now() - t, latenciesMs: lat };
        },
      },
      { name: 'ringstore count({ keys: [hot key] })', role: 'subject', op: 'queries', vs: RPC, run: () => timedCalls(q, () => store.count({ keys: ['acct-0'] }), 1) },
      { name: 'ringstore count({ keys: [cold key] })', role: 'subject', op: 'queries', vs: RPC, run: () => timedCalls(q, () => store.count({ keys: [`acct-${nKeys - 1}`] }), 1) },
      { name: RPC, role: ctx.subjectsOnly ? 'subject' : 'floor', op: 'queries', vs: RPC, run: () => timedCalls(q, () => store.count(), 1), teardown: () => store.close() },
    ];
    if (ctx.subjectsOnly) return cases;
    const versions = new Map<string, number>();
    const ring = new PlainRing<{ e: Order; version: number }>(Number(ctx.params.capacity));
    return (async () => [
      ...cases,
      jsonEncodeFloor(pool, n, ENCODE),
      {
        name: 'peer: plain-array ring + per-key version Map, drop-oldest',
        role: 'peer',
        run() {
          const t = now();
          for (let i = 0; i < n; i++) {
            const e = pool[i & (POOL - 1)];
            const v = (versions.get(e.account) ?? 0) + 1;
            versions.set(e.account, v);
            ring.push({ e, version: v });
          }
          return { ops: n, ms: now() - t };
        },
      },
      await emmettPeer(pool, appends, (e) => e.account, EMMETT),
      await redisPeer(ctx, pool, n, Number(ctx.params.capacity), (e) => e.account, 'peer: Redis Streams XADD per key (ioredis, pipelined)'),
    ])();
  },
};
