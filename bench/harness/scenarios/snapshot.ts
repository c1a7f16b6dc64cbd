/** Append plus a snapshot every 100 ms: append throughput while snapshots run, and snapshot latency. */
import { jsonEncodeFloor, keep, now, PlainRing, yieldLoop } from '../peers.js';
import type { Case, Sample, Scenario } from '../types.js';
import { makeEvents, objectStore, POOL, sharedBytesOf, type BenchEvent } from './common.js';
import type { EventStore } from '../../../src/index.js';

const ENCODE = 'floor: JSON.stringify + encodeInto loop';
const ONLY = 'ringstore append only (same store, no snapshots)';

/** Appends in chunks for `ms`, yielding between chunks so timers (the snapshots) run; calls `tick` on an interval. */
async function timedAppend(
  push: (e: BenchEvent) => boolean, pool: readonly BenchEvent[], ms: number, intervalMs: number, tick: (() => Promise<void> | void) | null,
): Promise<{ ops: number; ms: number; latencies: number[]; skipped: number }> {
  const latencies: number[] = [];
  let busy = false;
  let skipped = 0;
  const timer = tick === null ? null : setInterval(() => {
    if (busy) {
      skipped++;
      return;
    }
    busy = true;
    const t0 = now();
    void Promise.resolve(tick()).finally(() => {
      latencies.push(now() - t0);
      busy = false;
    });
  }, intervalMs);
  const t = now();
  let i = 0;
  try {
    while (now() - t < ms) {
      for (let j = 0; j < 512; j++) {
        if (push(pool[i & (POOL - 1)])) i++;
        else break;
      }
      await yieldLoop();
    }
  } finally {
    if (timer !== null) clearInterval(timer);
  }
  while (busy) await yieldLoop();
  return { ops: i, ms: now() - t, latencies, skipped };
}

export const snapshotScenario: Scenario = {
  name: 'snapshot',
  title: 'Append plus a snapshot every 100 ms',
  description:
    'One producer appends ~140-byte events for a fixed time while a timer takes snapshot() of the whole store every interval. ' +
    'Throughput is events committed per second; latency is per snapshot. The peer keeps JSON strings in a plain-array ring and parses all of them on each snapshot (same contract: fresh objects).',
  reference: ENCODE,
  default: true,
  params: {
    ms: { default: 1000, help: 'duration of one round, ms' },
    interval: { default: 100, help: 'snapshot interval, ms' },
    capacity: { default: 20_000, help: 'events kept (each snapshot returns them all)' },
    partitions: { default: 2, help: 'partitions' },
  },
  cases(ctx) {
    const ms = Number(ctx.params.ms);
    const interval = Number(ctx.params.interval);
    const capacity = Number(ctx.params.capacity);
    const partitions = Number(ctx.params.partitions);
    const pool = makeEvents(POOL, 5);
    let store: EventStore<BenchEvent>;
    const storeRound = async (withSnapshots: boolean): Promise<Sample> => {
      let events = 0;
      const r = await timedAppend((e) => store.tryAppend(e), pool, ms, interval, withSnapshots ? async () => void (events += (await store.snapshot()).length) : null);
      await store.flush();
      const snaps = r.latencies.length;
      return {
        ops: r.ops, ms: r.ms, latenciesMs: r.latencies, sharedBytes: sharedBytesOf(store as EventStore<unknown>),
        note: withSnapshots ? `${snaps} snapshots per round, ${snaps ? Math.round(events / snaps) : 0} events each, ${r.skipped} ticks skipped (previous snapshot still running)` : undefined,
      };
    };
    const ring = new PlainRing<string>(capacity);
    const cases: Case[] = [
      {
        name: ONLY, role: 'subject', vs: ENCODE,
        setup: () => void (store = objectStore(partitions, capacity)),
        run: () => storeRound(false),
      },
      { name: `ringstore append + snapshot() every ${interval} ms`, role: 'subject', vs: ONLY, run: () => storeRound(true), teardown: () => store.close() },
    ];
    if (ctx.subjectsOnly) return cases;
    return [
      ...cases,
      {
        name: `peer: plain-array ring of JSON strings + parse-all every ${interval} ms`,
        role: 'peer',
        async run() {
          let events = 0;
          const r = await timedAppend((e) => (ring.push(JSON.stringify(e)), true), pool, ms, interval, () => {
            const all = ring.toArray();
            for (const s of all) keep((JSON.parse(s) as BenchEvent).seq);
            events += all.length;
          });
          return { ops: r.ops, ms: r.ms, latenciesMs: r.latencies, note: `${r.latencies.length} snapshots per round, ${Math.round(events / Math.max(1, r.latencies.length))} events each` };
        },
      },
      jsonEncodeFloor(pool, 200_000, ENCODE),
    ];
  },
};
