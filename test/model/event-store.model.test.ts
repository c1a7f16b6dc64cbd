// Model-based test: random sequences of appends (single and batch, with
// expected versions and ids), purges, clears and queries run against a real
// EventStore and against the plain model (model.ts); after every command the
// store must answer what the model says. Small capacities, a small arena and a
// small idempotency window, so evictions by slots and by bytes and the window's
// edge happen in most runs.
//
// Worker crashes: any command may kill a partition's worker (crashPartition:
// mid-drain after k records, from outside at any instruction, or between
// drains). The store promises (docs/architecture.md, "Commit points", "Acks",
// "Failures") that a crash before a commit point re-runs the drain after the
// restart, deterministically from the committed state: so the model expects
// exactly what it expects without the crash (the same answers, positions,
// versions, ids and counters) plus one restart. Every counter the model checks
// is exact across a re-run drain: the counters are restored from the committed
// record and counted again by the re-run, and the live events the crashed
// drain evicted (or a crashed purge purged) are counted by recovery, since the
// re-run does not evict them again. What is not promised is not compared:
// which evicted events reach onDiscarded whole (the model does not use it), and
// the count a purge or clear returns when its worker is ended while it runs
// (the call is retried once on the new worker, which finds the purge done or
// not: anything between 0 and the model's count for that partition).
//
// Partitions: the same commands on a store of 2 partitions, one Model per
// partition, routed by the store's public partitionOf.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore, type AppendResult } from '../../dist/src/index.js';
import { Model, World, appendOne, learnId, liveKeys, type Crash, type Ev } from './model.js';

const CAPACITY = 6;
const ARENA = 400;
const WINDOW = 3;
// With 2 partitions: a and e route to partition 0, b, cé and d to partition 1.
const KEYS = ['a', 'b', 'cé', 'd', 'e'];
/** Crashes per store: a worker that dies 20 times within a minute fails its partition for good. */
const MAX_CRASHES = 12;

interface Real {
  store: EventStore<Ev>;
}

type Settled<T> = { ok: T } | { code: string };

const settle = async <T>(p: Promise<T>): Promise<Settled<T>> => {
  try {
    return { ok: await p };
  } catch (err) {
    return { code: (err as { code?: string }).code ?? String(err) };
  }
};

const padArb = fc.oneof(
  fc.nat(40).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 100, max: 380 }).map((n) => 'y'.repeat(n)), // around the arena's limit
  fc.nat(120).map((n) => 'é'.repeat(n)), // two bytes a character
);
const expectedArb = fc.option(fc.oneof(fc.constant<'actual'>('actual'), fc.nat(4)), { nil: undefined });
const crashArb: fc.Arbitrary<Crash | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: fc.record({ mode: fc.constant<'records'>('records'), part: fc.nat(1), k: fc.nat(8), flip: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ mode: fc.constant<'terminate'>('terminate'), part: fc.nat(1) }), weight: 1 },
  { arbitrary: fc.record({ mode: fc.constant<'between'>('between'), part: fc.nat(1) }), weight: 1 },
);
/** Purge and clear take no records: a kill while they run, or after. */
const callCrashArb: fc.Arbitrary<Crash | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: fc.record({ mode: fc.constant<'terminate'>('terminate'), part: fc.nat(1) }), weight: 1 },
  { arbitrary: fc.record({ mode: fc.constant<'between'>('between'), part: fc.nat(1) }), weight: 1 },
);
const crashText = (c: Crash | undefined): string =>
  c === undefined ? '' : c.mode === 'records' ? `, crash p#${c.part} after #${c.k}${c.flip ? ' in its commit point' : ''}` : `, crash ${c.mode} p#${c.part}`;

async function checkAll(w: World, r: Real): Promise<void> {
  const snap = await r.store.snapshot();
  // Merged by timestamp (then partition, then position): timestamps are unique here.
  const live = w.parts.flatMap((m, p) => m.liveEvents().map((e) => ({ e, p }))).sort((x, y) => x.e.payload.ts - y.e.payload.ts);
  expect(snap.map((e) => [e.partition, e.position, e.key, e.version, e.id, e.payload])).toEqual(
    live.map(({ e, p }) => [p, e.position, e.payload.k, e.version, e.id, e.payload]),
  );
  expect(await r.store.count()).toBe(live.length);
  expect(await r.store.sum('n')).toBe(live.reduce((s, x) => s + x.e.payload.n, 0));
  for (const k of KEYS) expect(await r.store.count({ keys: [k] })).toBe(live.filter((x) => x.e.payload.k === k).length);
  const s = r.store.stats;
  w.parts.forEach((m, p) => {
    const ps = s.partitions[p];
    expect({
      p, appended: ps.appended, discarded: ps.discarded, rejected: ps.rejected, duplicates: ps.duplicates, conflicts: ps.conflicts,
      purged: ps.purged, live: ps.live, keys: ps.keys, dedupIds: ps.dedupIds, restarts: ps.restarts, failed: ps.failed,
    }).toEqual({
      p, appended: m.appended, discarded: m.discarded, rejected: m.rejected, duplicates: m.duplicates, conflicts: m.conflicts,
      purged: m.purged, live: m.live, keys: liveKeys(m), dedupIds: m.dedup.length, restarts: w.restarts[p], failed: false,
    });
  });
  expect(s.restarts).toBe(w.restarts.reduce((a, b) => a + b, 0));
  // Each partition's window is anchored at its newest live event: [newest - 10, newest], both ends inclusive.
  if (live.length > 0) {
    const inWindow = w.parts.flatMap((m) => {
      const own = m.liveEvents();
      if (own.length === 0) return [];
      const newest = Math.max(...own.map((e) => e.payload.ts));
      return own.filter((e) => e.payload.ts >= newest - 10).map((e) => e.payload.n);
    });
    expect(await r.store.windowAggregate('n')).toMatchObject({
      count: inWindow.length, sum: inWindow.reduce((a, n) => a + n, 0),
      min: inWindow.length > 0 ? Math.min(...inWindow) : null, max: inWindow.length > 0 ? Math.max(...inWindow) : null,
    });
  }
}

/**
 * Runs `call` with `crash` (if any), compares its outcome with `verify`, then
 * waits for the crash to be over. `records[p]`: how many of the call's records
 * reach partition p's worker (a crash after k records needs k of them, or it
 * stays armed).
 */
async function withCrash<T>(w: World, r: Real, crash: Crash | undefined, records: number[], call: () => Promise<T>, verify: (got: Settled<T>) => void): Promise<void> {
  if (crash === undefined) {
    verify(await settle(call()));
    return;
  }
  let p: number;
  let dying: Promise<void>;
  let got: Settled<T>;
  if (crash.mode === 'records') {
    const touched = records.flatMap((n, i) => (n > 0 ? [[i, n] as const] : []));
    if (touched.length === 0) {
      verify(await settle(call())); // refused before anything reached a worker: nothing to crash in
      return;
    }
    const [at, n] = touched[crash.part % touched.length];
    p = at;
    dying = r.store.crashPartition(p, { afterRecords: 1 + (crash.k % n), afterCommitPoint: crash.flip });
    got = await settle(call());
  } else if (crash.mode === 'terminate') {
    p = crash.part % w.parts.length;
    const pending = settle(call());
    dying = r.store.crashPartition(p, { terminate: true });
    got = await pending;
  } else {
    p = crash.part % w.parts.length;
    got = await settle(call());
    dying = r.store.crashPartition(p);
  }
  verify(got);
  await dying;
  w.restarts[p]++;
  w.crashes++;
}

const crashable = (w: Readonly<World>, crash: Crash | undefined): boolean => crash === undefined || w.crashes < MAX_CRASHES;

class AppendCmd implements fc.AsyncCommand<World, Real> {
  constructor(
    readonly key: number, readonly n: number, readonly pad: string, readonly id: string | undefined,
    readonly expected: number | 'actual' | undefined, readonly crash: Crash | undefined,
  ) {}
  check(w: Readonly<World>): boolean {
    return crashable(w, this.crash);
  }
  async run(w: World, r: Real): Promise<void> {
    const e: Ev = { k: KEYS[this.key], n: this.n, ts: w.ts++, pad: this.pad };
    const p = w.route(e.k);
    const m = w.parts[p];
    const expected = this.expected === 'actual' ? m.version(e.k) : this.expected;
    const records = w.parts.map((_, i) => (i === p && !m.tooLarge(e, this.id) ? 1 : 0));
    const want = appendOne(m, e, this.id, expected);
    await withCrash(w, r, this.crash, records, () => r.store.append(e, { id: this.id, expectedVersion: expected }), (got) => {
      if (want.code !== undefined) expect(got).toEqual({ code: want.code });
      else expect(got).toEqual({ ok: { id: this.id ?? expect.any(String), partition: p, ...want.result } });
      if ('ok' in got) learnId(m, got.ok);
    });
    m.trim();
    await checkAll(w, r);
  }
  toString(): string {
    return `append(${KEYS[this.key]}, ${this.n}, pad ${this.pad.length}${this.id ? `, id ${this.id}` : ''}${this.expected !== undefined ? `, expected ${this.expected}` : ''}${crashText(this.crash)})`;
  }
}

class BatchCmd implements fc.AsyncCommand<World, Real> {
  constructor(
    readonly keys: number[], readonly pads: string[], readonly conditional: 'actual' | number | undefined, readonly withIds: boolean,
    readonly crash: Crash | undefined,
  ) {}
  check(w: Readonly<World>): boolean {
    return crashable(w, this.crash);
  }
  async run(w: World, r: Real): Promise<void> {
    // A conditional batch has one key (the first); ids are fresh (the window's edge is the single appends' job).
    const events: Ev[] = this.keys.map((k, i) => ({ k: KEYS[this.conditional !== undefined ? this.keys[0] : k], n: i, ts: w.ts++, pad: this.pads[i % this.pads.length] }));
    const ids = this.withIds ? events.map((e) => `b${e.ts}`) : undefined;
    const parts = events.map((e) => w.route(e.k));
    const first = w.parts[parts[0]];
    const expected = this.conditional === 'actual' ? first.version(events[0].k) : this.conditional;
    const refused = events.some((e, i) => w.parts[parts[i]].tooLarge(e, ids?.[i])); // nothing is written
    const records = w.parts.map((_, p) => (refused ? 0 : parts.filter((x) => x === p).length));
    let want: { results?: AppendResult[]; code?: string };
    if (refused) want = { code: 'RS_ERR_EVENT_TOO_LARGE' };
    else if (expected !== undefined && first.version(events[0].k) !== expected) {
      first.appended += events.length;
      first.rejected += events.length;
      first.conflicts += events.length;
      want = { code: 'RS_ERR_CONFLICT' };
    } else {
      want = { results: events.map((e, i) => ({ id: ids?.[i] ?? expect.any(String), partition: parts[i], ...w.parts[parts[i]].commit(e, ids?.[i]), duplicate: false })) };
    }
    await withCrash(w, r, this.crash, records, () => r.store.append(events, { id: ids, expectedVersion: expected }), (got) => {
      if (want.code !== undefined) expect(got).toEqual({ code: want.code });
      else expect(got).toEqual({ ok: want.results });
      if ('ok' in got) got.ok.forEach((x) => learnId(w.parts[x.partition], x));
    });
    for (const m of w.parts) m.trim();
    await checkAll(w, r);
  }
  toString(): string {
    return `batch(${this.keys.map((k) => KEYS[k]).join(',')}, pads ${this.pads.map((p) => p.length).join('/')}${this.conditional !== undefined ? `, expected ${this.conditional}` : ''}${this.withIds ? ', ids' : ''}${crashText(this.crash)})`;
  }
}

/** A purge (cutoff) or a clear (null); with a crash, a purge's count is exact only for the partitions that did not die. */
class PurgeCmd implements fc.AsyncCommand<World, Real> {
  constructor(readonly back: number | null, readonly crash: Crash | undefined) {}
  check(w: Readonly<World>): boolean {
    return crashable(w, this.crash);
  }
  async run(w: World, r: Real): Promise<void> {
    const cutoff = this.back === null ? null : w.ts - this.back;
    const counts = w.parts.map((m) => (cutoff === null ? m.clear() : m.purge(cutoff)));
    const total = counts.reduce((a, b) => a + b, 0);
    const call = (): Promise<number> => (cutoff === null ? r.store.clear() : r.store.purge({ olderThan: cutoff }));
    await withCrash(w, r, this.crash, [], call, (got) => {
      if (this.crash?.mode !== 'terminate') expect(got).toEqual({ ok: total });
      else {
        // The dying partition's purge may have committed before the kill, and its retry then finds nothing.
        const dead = counts[this.crash.part % w.parts.length];
        expect('ok' in got && got.ok >= total - dead && got.ok <= total, `${JSON.stringify(got)} in [${total - dead}, ${total}]`).toBe(true);
      }
    });
    await checkAll(w, r);
  }
  toString(): string {
    return `${this.back === null ? 'clear()' : `purge(ts < now - ${this.back})`}${crashText(this.crash)}`;
  }
}

const idArb = fc.option(fc.constantFrom('i1', 'i2', 'i3', 'i4', 'i5', 'i6'), { nil: undefined });
const appendArb = fc
  .tuple(fc.nat(KEYS.length - 1), fc.integer({ min: -50, max: 50 }), padArb, idArb, expectedArb, crashArb)
  .map(([k, n, pad, id, exp, crash]) => new AppendCmd(k, n, pad, id, exp, crash));
const commands = [
  appendArb,
  appendArb,
  // Half the batches have one key: with 6 slots, a batch of one key evicting all of that key's committed
  // events in the drain a crash cuts is what the key directory must survive (regressions.test.ts).
  fc.tuple(fc.array(fc.nat(KEYS.length - 1), { minLength: 1, maxLength: 9 }), fc.boolean(), fc.array(padArb, { minLength: 1, maxLength: 3 }), expectedArb, fc.boolean(), crashArb).map(
    ([keys, oneKey, pads, cond, ids, crash]) => new BatchCmd(oneKey ? keys.map(() => keys[0]) : keys, pads, cond, ids, crash),
  ),
  fc.tuple(fc.nat(8), callCrashArb).map(([b, crash]) => new PurgeCmd(b, crash)),
  callCrashArb.map((crash) => new PurgeCmd(null, crash)),
];

const stores: EventStore<Ev>[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

const RUNS = Number(process.env.MODEL_RUNS ?? 20);
const SEED = process.env.MODEL_SEED !== undefined ? Number(process.env.MODEL_SEED) : undefined;

describe('EventStore against a plain model', () => {
  for (const partitions of [1, 2]) {
    let sequences = 0;
    it(`${partitions} partition${partitions > 1 ? 's' : ''}: appends, batches, expected versions, ids, purge, clear, evictions by slots and bytes, worker crashes, queries`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (cmds) => {
          // MODEL_PROGRESS=1: a line per sequence run, so a long hunt shows it is moving.
          if (process.env.MODEL_PROGRESS !== undefined) process.stderr.write(`model ${partitions}p: sequence ${++sequences}\n`);
          const store = EventStore.create<Ev>({
            // capacity, payloadBytes and dormantKeys are store totals, split evenly; dedupWindow is per partition.
            partitions, capacity: CAPACITY * partitions, payloadBytes: ARENA * partitions, dedupWindow: WINDOW, dormantKeys: 1000 * partitions,
            key: 'k', timestamp: 'ts', values: { n: 'n' }, window: { sizeMs: 10, bucketMs: 1 },
          });
          stores.push(store);
          const w = new World(partitions, () => new Model(CAPACITY, ARENA, ARENA - 32, WINDOW), (k) => store.partitionOf(k));
          try {
            await fc.asyncModelRun(() => ({ model: w, real: { store } }), cmds);
          } finally {
            stores.splice(stores.indexOf(store), 1);
            await store.close();
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
    }, Math.max(120_000, RUNS * 3_000)); // long hunts: ~0.3 s a sequence on a quiet machine
  }
});
