// A week of traffic compressed into seconds: events whose timestamps span 7 days (and an hour) at a steady
// rate, through EventStore (time ranges, window buckets, purge by age) and MetricStore (ranges, top, forgetting
// keys), each checked once a simulated day against a plain model computed here, and the bounded structures
// checked against the bounds the stores declare (keys named by the hour, so anything kept per distinct key,
// hour or day would grow). What it checks and why it can fail: docs/testing.md, "Long uptime".
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore, MetricStore } from '../../dist/src/index.js';
import { partitionOf } from '../../dist/src/partition/hash.js';
import { IngestHistory } from '../../dist/src/server/dashboard/ingest-history.js';
import { heapUsed } from '../heap.helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 5); // a Monday, 00:00 UTC
const WEEK_HOURS = 7 * 24 + 1;

interface Ev {
  k: string;
  t: number;
  v: number;
}

/** The i-th event of the week: one every `stepMs`, keys named by the hour (20 an hour), values in [-500, 500). */
function eventAt(i: number, stepMs: number): Ev {
  const t = T0 + i * stepMs;
  return { k: `h${Math.floor((t - T0) / HOUR)}-${i % 20}`, t, v: ((i * 7919) % 1000) - 500 };
}

interface Agg {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
}

function aggregate(vs: readonly number[]): Agg {
  if (vs.length === 0) return { count: 0, sum: 0, min: null, max: null };
  return { count: vs.length, sum: vs.reduce((a, b) => a + b, 0), min: Math.min(...vs), max: Math.max(...vs) };
}

const stores: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

describe('EventStore: a week of timestamps (ranges, window buckets, purge by age)', () => {
  it('answers like the model every simulated day, with bounded keys and tables', async () => {
    const C = 1_000; // per partition: about 8 hours of its events
    const DORMANT = 200;
    const STEP = 15_000;
    const WINDOW = { sizeMs: HOUR, bucketMs: MIN };
    const store = EventStore.create<Ev, 'v'>({
      partitions: 2, capacity: 2 * C, key: 'k', timestamp: 't', values: { v: 'v' }, window: WINDOW, dormantKeys: DORMANT,
    });
    stores.push(store);
    // The model: each partition's live events, oldest first (slots evict the oldest; purge drops by age).
    const live: Ev[][] = [[], []];
    const routed = [0, 0];
    const purged = [0, 0];
    const perHour = HOUR / STEP;
    let i = 0;
    for (let hour = 1; hour <= WEEK_HOURS; hour++) {
      const batch: Ev[] = [];
      for (; i < hour * perHour; i++) batch.push(eventAt(i, STEP));
      await store.append(batch);
      for (const e of batch) {
        const p = store.partitionOf(e.k);
        routed[p]++;
        live[p]!.push(e);
        if (live[p]!.length > C) live[p]!.shift();
      }
      if (hour % 24 !== 0 && hour !== WEEK_HOURS) continue;

      const all = (): Ev[] => [...live[0]!, ...live[1]!];
      const newest = T0 + (i - 1) * STEP;
      const inRange = (from: number, to: number): number[] => all().filter((e) => e.t >= from && e.t <= to).map((e) => e.v);
      const day = Math.floor((newest - T0) / DAY);
      // Time ranges, exact per event: the last 6 hours, this day's first two hours, a day long evicted.
      for (const [from, to] of [[newest - 6 * HOUR, newest], [T0 + day * DAY, T0 + day * DAY + 2 * HOUR - 1], [T0, T0 + DAY - 1]] as const) {
        const want = aggregate(inRange(from, to));
        expect(await store.count({ from, to }), `count ${from}..${to} on day ${day}`).toBe(want.count);
        expect(await store.sum('v', { from, to })).toBe(want.sum);
        expect(await store.min('v', { from, to })).toBe(want.min);
        expect(await store.max('v', { from, to })).toBe(want.max);
      }
      // Window buckets: each partition's window [newest - 1 h, newest] at minute granularity, and a range in it.
      const windowOf = (from: number, to: number): Agg => {
        const vs: number[] = [];
        for (const events of live) {
          if (events.length === 0) continue;
          const last = Math.floor(events[events.length - 1]!.t / MIN);
          const lo = Math.max(last - 60, Math.floor(from / MIN));
          const hi = Math.min(last, Math.floor(to / MIN));
          for (const e of events) if (Math.floor(e.t / MIN) >= lo && Math.floor(e.t / MIN) <= hi) vs.push(e.v);
        }
        return aggregate(vs);
      };
      expect(await store.windowAggregate('v'), `window on day ${day}`).toMatchObject(windowOf(-Infinity, Infinity));
      expect(await store.windowAggregate('v', { from: newest - 30 * MIN, to: newest - 10 * MIN })).toMatchObject(windowOf(newest - 30 * MIN, newest - 10 * MIN));
      // Bounded: slots, keys with live events (exact), the key directory; the counters add up.
      const s = store.stats;
      for (const p of [0, 1]) {
        const ps = s.partitions[p]!;
        expect(ps.live).toBe(live[p]!.length);
        expect(ps.live).toBeLessThanOrEqual(C);
        expect(ps.appended).toBe(routed[p]);
        expect(ps.discarded).toBe(routed[p]! - live[p]!.length - purged[p]!);
        expect(ps.keys).toBe(new Set(live[p]!.map((e) => e.k)).size);
        expect(ps.dormantKeys).toBeLessThanOrEqual(DORMANT);
      }
      // Once a day, purge what is older than 6 hours (time-based deletion), then the same checks hold.
      const cutoff = newest - 6 * HOUR;
      const n = await store.purge({ olderThan: cutoff });
      let dropped = 0;
      for (const p of [0, 1]) {
        const before = live[p]!.length;
        live[p] = live[p]!.filter((e) => e.t >= cutoff);
        purged[p]! += before - live[p]!.length;
        dropped += before - live[p]!.length;
      }
      expect(n).toBe(dropped);
      expect(await store.count()).toBe(all().length);
      expect(await store.windowAggregate('v')).toMatchObject(windowOf(-Infinity, Infinity));
    }
    // The week went through: 7 days and an hour of events, about 7 * 24 / 8 ring's worth per partition.
    expect(i).toBe(WEEK_HOURS * perHour);
    expect(store.stats.appended).toBe(i);
    expect(store.stats.discarded).toBeGreaterThan(10 * C);
  }, 60_000);
});

describe('MetricStore: a week of samples (ranges, top, keys forgotten)', () => {
  it('answers like the model every simulated day; remembered keys and the id space stay within maxRememberedKeys', () => {
    const CAP = 3_000; // 1,500 a partition: about 8 hours of each partition's samples
    const REMEMBER = 3_100; // fewer than the 3,380 distinct keys of the week
    const STEP = 10_000;
    const store = new MetricStore({ capacity: CAP, partitions: 2, maxRememberedKeys: REMEMBER });
    const live: Ev[][] = [[], []];
    const perHour = HOUR / STEP;
    const distinct = new Set<string>();
    let i = 0;
    for (let hour = 1; hour <= WEEK_HOURS; hour++) {
      for (; i < hour * perHour; i++) {
        const e = eventAt(i, STEP);
        store.add(e.k, e.v, e.t);
        distinct.add(e.k);
        const p = partitionOf(e.k, 2);
        live[p]!.push(e);
        if (live[p]!.length > CAP / 2) live[p]!.shift();
      }
      if (hour % 24 !== 0 && hour !== WEEK_HOURS) continue;
      const all = [...live[0]!, ...live[1]!];
      const newest = T0 + (i - 1) * STEP;
      for (const [from, to] of [[newest - HOUR, newest], [newest - 6 * HOUR, newest - 2 * HOUR], [T0, T0 + DAY - 1], [-Infinity, Infinity]] as const) {
        const want = aggregate(all.filter((e) => e.t >= from && e.t <= to).map((e) => e.v));
        const range = { from, to };
        expect(store.count(range), `count ${from}..${to} at hour ${hour}`).toBe(want.count);
        expect(store.sum(range)).toBe(want.sum);
        expect(store.min(range)).toBe(want.min);
        expect(store.max(range)).toBe(want.max);
        // One key of the last hours, per key.
        const key = eventAt(i - 7, STEP).k;
        const mine = all.filter((e) => e.k === key && e.t >= from && e.t <= to).map((e) => e.v);
        expect(store.count(key, range)).toBe(mine.length);
        expect(store.sum(key, range)).toBe(mine.reduce((a, b) => a + b, 0));
      }
      // top over the last two hours: sums by key, descending, ties by key.
      const sums = new Map<string, number>();
      for (const e of all) if (e.t >= newest - 2 * HOUR) sums.set(e.k, (sums.get(e.k) ?? 0) + e.v);
      const want = [...sums].map(([key, value]) => ({ key, value })).sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : 1)).slice(0, 5);
      expect(store.top(5, { from: newest - 2 * HOUR })).toEqual(want);
      const s = store.stats;
      expect(s.live).toBe(all.length);
      expect(s.appended).toBe(i);
      expect(s.appended).toBe(s.live + s.discarded);
      expect(s.keys).toBe(new Set(all.map((e) => e.k)).size);
      expect(s.rememberedKeys).toBeLessThanOrEqual(REMEMBER + s.pinnedKeys);
      expect(s.keyIdSpan).toBeLessThanOrEqual(REMEMBER);
    }
    // More distinct keys went through than the store may remember: forgetting was exercised.
    expect(distinct.size).toBeGreaterThan(REMEMBER);
  });
});

describe('MetricStore: the heap after day 7 against day 1', () => {
  it('a new key with every sample for a week: the heap stays within the declared per-key bound', () => {
    const REMEMBER = 3_100;
    const STEP = 10_000;
    const store = new MetricStore({ capacity: 3_000, partitions: 2, maxRememberedKeys: REMEMBER });
    const perDay = DAY / STEP;
    let day1 = 0;
    let remembered1 = 0;
    for (let i = 0; i < 7 * perDay; i++) {
      store.add(`sensor-${i}`, i % 100, T0 + i * STEP);
      if (i + 1 === perDay) {
        day1 = heapUsed();
        remembered1 = store.stats.rememberedKeys;
      }
    }
    const grown = heapUsed() - day1;
    const s = store.stats;
    expect(s.appended).toBe(7 * perDay);
    // Declared (metric-store.md, Memory per key): about 60 bytes a remembered key plus its string (~30 bytes
    // here); at most maxRememberedKeys of them at either end. 128 bytes a key, plus 1 MiB for the heap's own
    // slack. Without the bound the 51,840 keys added after day 1 would hold several MB.
    expect(grown, `heap grew ${grown} bytes from day 1 to day 7`).toBeLessThan(REMEMBER * 128 + 2 ** 20);
    expect(s.rememberedKeys).toBeLessThanOrEqual(REMEMBER);
    expect(remembered1).toBeLessThanOrEqual(REMEMBER);
  });
});

describe('daemon ingest history: a week of ticks', () => {
  it('keeps its last `points` intervals, each rate the model\'s, whatever the uptime', () => {
    let streams = 0;
    let metrics = 0;
    const POINTS = 120;
    const TICK = 5_000;
    const h = new IngestHistory(() => ({ streams, metrics }), TICK, POINTS);
    const rate = (k: number): number => 100 + (k % 37); // events a second in interval k
    const ticks = (7 * DAY) / TICK;
    for (let k = 0; k <= ticks; k++) {
      h.tick(T0 + k * TICK);
      streams += (rate(k) * TICK) / 1000;
      metrics += 2 * ((rate(k) * TICK) / 1000);
      if (k % (DAY / TICK) !== 0 || k === 0) continue;
      const s = h.series();
      expect(s.t.length).toBe(Math.min(k, POINTS));
      expect(s.t[s.t.length - 1]).toBe(T0 + k * TICK);
      expect(s.streams[s.streams.length - 1]).toBe(rate(k - 1));
      expect(s.metrics[s.metrics.length - 1]).toBe(2 * rate(k - 1));
    }
  });
});
