/**
 * The core benchmark (issue 2's targets), one row per target: MetricStore.add,
 * object append from one producer and from two producer threads, window
 * aggregates and filtered scans over a large store, and snapshot(). Each row
 * is named as the issue states it, with its target beside it.
 */
import { EventStore } from '../../../src/index.js';
import { missing } from '../optional.js';
import { jsonDecodeFloor, jsonEncodeFloor, keep, now } from '../peers.js';
import { cpuPerOp, threadCpu } from '../thread-cpu.js';
import type { Case, CaseResult, Scenario } from '../types.js';
import {
  appendLoop, appendRound, makeEvents, makeTinyEvents, objectStore, POOL, producerPool, threadedRound, timedCalls, type BenchEvent, type TinyEvent,
} from './common.js';
import { ADD_TARGET, metricAddCase, PUSH, pushFloor, sensorKeys } from './metric.js';

const ENCODE = 'floor: JSON.stringify + encodeInto loop';
const RPC = 'floor: RPC round trip, count() with no filter';
const BARE = 'floor: bare Float64Array loop, 1 thread';
const DECODE = 'floor: TextDecoder + JSON.parse loop';
const ratioAtLeast = (x: number) => ({ text: `>= ${x}x`, met: (c: CaseResult) => c.ratio >= x });

/**
 * The case with CPU time per operation added to each round: main thread,
 * partition workers, other threads, whole process (thread-cpu.ts). Two cores
 * hide what the threads cost; CPU per event per thread does not.
 */
function withCpu(c: Case): Case {
  if (c.skip !== undefined) return c;
  return {
    ...c,
    async run(round) {
      const a = threadCpu();
      const sample = await c.run(round);
      const cpu = cpuPerOp(a, threadCpu(), sample.ops);
      return cpu === undefined ? sample : { ...sample, cpuUsPerOp: cpu };
    },
  };
}

/** The row-4 store: `n` tiny events over 2 partitions with a 10-minute window; answers checked against brute force. */
async function scanStore(n: number): Promise<{ store: EventStore<TinyEvent>; from: number; to: number; live0: number; note: string }> {
  const pool = makeTinyEvents(POOL, 2);
  const store = EventStore.create<TinyEvent>({
    capacity: n, partitions: 2, payloadBytes: n * 56, key: 'u', values: { amount: 'a' }, window: { sizeMs: 600_000, bucketMs: 1000 },
  });
  const from = Date.now();
  const t = now();
  await appendLoop(store, pool, n, 0);
  await store.flush();
  const fillMs = now() - t;
  const to = Date.now();
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const a = pool[i & (POOL - 1)].a;
    if (a > 50) {
      sum += a;
      count++;
    }
  }
  const where = { values: { amount: { gt: 50 } } };
  const wrong: string[] = [];
  const st = store.stats;
  if (st.live !== n) wrong.push(`live ${st.live} != ${n}`);
  if ((await store.windowAggregate('amount', { from, to })).count !== n) wrong.push('windowAggregate count');
  if ((await store.sum('amount', { where })) !== sum) wrong.push('sum');
  if ((await store.count({ where })) !== count) wrong.push('count');
  if ((await store.count({ from, to })) !== n) wrong.push('count(range)');
  if (wrong.length > 0) {
    await store.close();
    throw new Error(`answers differ from brute force: ${wrong.join(', ')}`);
  }
  return { store, from, to, live0: st.partitions[0].live, note: `answers checked; fill ${Math.round((n * 1000) / fillMs)} events/s` };
}

export const coreScenario: Scenario = {
  name: 'core',
  title: "Core benchmark: issue 2's targets",
  description:
    'Row 1: MetricStore.add against array.push. Row 2: tryAppend of a ~140-byte JSON event from one producer, 2 partitions, committed (2b: published, before flush()) against JSON.stringify + encodeInto. ' +
    'Row 3: two producer threads attached by descriptor against one. Row 4: over a store of tiny events, windowAggregate latency against the RPC floor, a filtered scan per worker against a bare ' +
    'Float64Array loop, all workers against one, and a time-range count. Row 5: snapshot() into objects against TextDecoder + JSON.parse of the same payloads.',
  reference: ENCODE,
  default: false,
  params: {
    metricEvents: { default: 5_000_000, help: 'row 1: adds per round' },
    events: { default: 1_000_000, help: 'rows 2 and 3: events appended per round' },
    scanEvents: { default: 10_000_000, help: 'row 4: events in the scanned store' },
    queries: { default: 50, help: 'row 4a: windowAggregate calls per round' },
    snapshotEvents: { default: 1_000_000, help: 'row 5: events in the snapshotted store' },
  },
  async cases(ctx) {
    const n = Number(ctx.params.events);
    const scanN = Number(ctx.params.scanEvents);
    const q = Number(ctx.params.queries);
    const snapN = Number(ctx.params.snapshotEvents);
    const keys = sensorKeys(1024);
    const pool = makeEvents(POOL, 1);
    const snapPool = makeEvents(POOL, 3);
    const avgBytes = Math.round(pool.reduce((b, e) => b + Buffer.byteLength(JSON.stringify(e)), 0) / pool.length);

    let appendStore: EventStore<BenchEvent>;
    let start = 0;
    let threadStore: EventStore<BenchEvent>;
    let threads: Awaited<ReturnType<typeof producerPool>> | undefined;
    const noPiscina = missing('piscina');
    let scan: Awaited<ReturnType<typeof scanStore>>;
    const where = { values: { amount: { gt: 50 } } };
    let snapStore: EventStore<BenchEvent>;
    const one = 'row 3: 1 producer thread (piscina), 2 partitions (committed)';
    const scanOne = 'row 4b: filtered scan sum(amount > 50), 1 worker';

    const cases: Case[] = [
      metricAddCase('row 1: MetricStore.add(key, value, ts), 1 producer', keys, Number(ctx.params.metricEvents), 1_000_000, PUSH, ADD_TARGET),
      {
        name: `row 2: append ~${avgBytes}-byte event, 1 producer, 2 partitions (committed)`, role: 'subject', target: ratioAtLeast(0.8),
        setup: () => void (appendStore = objectStore(2, 1 << 20)),
        run: () => appendRound(appendStore, pool, n, (start += n)),
        teardown: () => appendStore.close(),
      },
      {
        name: 'row 2b: same, tryAppend loop only (published, before flush)', role: 'subject',
        async run() {
          const t = now();
          const refused = await appendLoop(appendStore, pool, n, (start += n));
          const ms = now() - t;
          await appendStore.flush();
          return { ops: n, ms, note: `${refused} tryAppend refusals` };
        },
      },
      {
        name: one, role: 'subject', ...(noPiscina !== null ? { skip: noPiscina } : {}),
        async setup() {
          threadStore = objectStore(2, 1 << 20);
          threads = await producerPool(2);
        },
        run: (r) => threadedRound(threads!, threadStore, 1, n, r * n, 11),
        async teardown() {
          await threads?.destroy();
          await threadStore?.close();
        },
      },
      {
        name: 'row 3: 2 producer threads, same store (committed)', role: 'subject', vs: one, target: ratioAtLeast(1.6),
        ...(noPiscina !== null ? { skip: noPiscina } : {}),
        run: (r) => threadedRound(threads!, threadStore, 2, n, r * n, 11),
      },
      {
        name: `row 4a: windowAggregate (600 x 1 s buckets), ${scanN} events, 2 partitions`, role: 'subject', op: 'queries', vs: RPC,
        target: { text: '< 1 ms', met: (c) => 1000 / c.median < 1 },
        async setup() {
          scan = await scanStore(scanN);
        },
        run: () => timedCalls(q, () => scan.store.windowAggregate('amount', { from: scan.from, to: scan.to }), 1).then((s) => ({ ...s, note: scan.note })),
        teardown: () => scan?.store.close(),
      },
      {
        name: scanOne, role: 'subject', op: 'events scanned', vs: BARE, target: { text: '>= 500M/s per worker', met: (c) => c.median >= 500e6 },
        run: () => timedCalls(1, () => scan.store.sum('amount', { where, partitions: [0] }), scan.live0),
      },
      {
        name: 'row 4c: filtered scan sum(amount > 50), all 2 workers', role: 'subject', op: 'events scanned', vs: scanOne, target: ratioAtLeast(1.6),
        run: () => timedCalls(1, () => scan.store.sum('amount', { where }), scanN),
      },
      {
        name: 'row 4d: count({ from, to }) time-range scan, all workers', role: 'subject', op: 'events scanned', vs: BARE,
        run: () => timedCalls(1, () => scan.store.count({ from: scan.from, to: scan.to }), scanN),
      },
      {
        name: `row 5: snapshot() of ${snapN} events into objects`, role: 'subject', vs: DECODE, target: ratioAtLeast(0.8),
        async setup() {
          // Room for all of them: users hash unevenly over the 2 partitions.
          snapStore = objectStore(2, Math.max(4096, Math.ceil(snapN * 1.1)));
          await appendLoop(snapStore, snapPool, snapN, 0);
          await snapStore.flush();
        },
        async run() {
          const live = snapStore.stats.live;
          const t = now();
          const got = (await snapStore.snapshot()).length;
          const ms = now() - t;
          if (got !== live) throw new Error(`snapshot returned ${got} of ${live} live events`);
          return { ops: got, ms, ...(live !== snapN ? { note: `${live} of ${snapN} events live` } : {}) };
        },
        teardown: () => snapStore.close(),
      },
    ];
    if (ctx.subjectsOnly) return cases.map(withCpu);
    let values0: Float64Array;
    return ([
      ...cases,
      pushFloor(keys, Number(ctx.params.metricEvents)),
      jsonEncodeFloor(pool, n, ENCODE),
      { name: RPC, role: 'floor', op: 'queries', run: () => timedCalls(q, () => scan.store.count(), 1) },
      {
        name: BARE, role: 'floor', op: 'events scanned',
        setup() {
          const tiny = makeTinyEvents(POOL, 2);
          values0 = Float64Array.from({ length: scan.live0 }, (_, i) => tiny[i & (POOL - 1)].a);
        },
        run() {
          const t = now();
          let sum = 0;
          let count = 0;
          for (let i = 0; i < values0.length; i++) {
            const v = values0[i];
            if (v > 50) {
              sum += v;
              count++;
            }
          }
          keep(sum + count);
          return { ops: values0.length, ms: now() - t };
        },
      },
      jsonDecodeFloor(snapPool, snapN, DECODE),
    ] as Case[]).map(withCpu);
  },
};
