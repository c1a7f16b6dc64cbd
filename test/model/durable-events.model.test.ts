// Model-based test of the durable EventStore across restarts: random sequences of appends (append() with
// ids and expected versions, and batches of tryAppend() + flush()), purges, clears and close + reopen, some
// reopens after one byte of each partition's newest checkpoint was flipped (the restore must fall back to the
// older kept checkpoint and replay the log after it), run against a durable store and against the plain model
// of test/model/model.ts (evictions by slots and arena bytes per partition, routed by partitionOf). Every
// write is awaited: after every command and every reopen the store must hold exactly what the model says
// (snapshot with positions, versions and ids, count and sum per key, the window, the counters), so nothing
// acknowledged is lost or comes back twice, and a retried id is still a duplicate after a restart. After every
// reopen each partition's log must stay under a bound derived from its checkpoint image (see `logBound`).
// docs/testing.md, "Durable model tests".
//
// MODEL_RUNS=300 for a long hunt; MODEL_SEED=<seed> replays a failure (fast-check prints seed and path).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore } from '../../dist/src/index.js';
import { Model, World, appendOne, learnId, liveKeys, type Ev } from './model.js';
import { RUNS, SEED, SessionBytes, damageNewestCheckpoint, progress, removeScratch, scratch, segmentBytesPerPartition } from './durable.helpers.js';

const CAPACITY = 6;
const ARENA = 400;
const WINDOW = 3;
const KEYS = ['a', 'b', 'cé', 'd', 'e'];
const SEGMENT = 4096;

type Cmd =
  | { t: 'append'; k: number; n: number; pad: string; id?: string; expected?: 'actual' | number }
  | { t: 'batch'; rows: [number, number, string][] }
  | { t: 'purge'; back: number }
  | { t: 'clear' }
  | { t: 'purges'; n: number }
  | { t: 'reopen'; damage: boolean; salt: number };

const padArb = fc.oneof(
  fc.nat(40).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 100, max: 380 }).map((n) => 'y'.repeat(n)), // around the arena's limit
  fc.nat(120).map((n) => 'é'.repeat(n)),
);
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant<'append'>('append'), k: fc.nat(KEYS.length - 1), n: fc.integer({ min: -50, max: 50 }), pad: padArb,
      id: fc.constantFrom('i1', 'i2', 'i3', 'i4', 'i5'), expected: fc.oneof(fc.constant<'actual'>('actual'), fc.nat(4)),
    }, { requiredKeys: ['t', 'k', 'n', 'pad'] }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant<'batch'>('batch'), rows: fc.array(fc.tuple(fc.nat(KEYS.length - 1), fc.integer({ min: -50, max: 50 }), padArb), { minLength: 1, maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant<'purge'>('purge'), back: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant<'clear'>('clear') }) },
  // Many count-0 frames (purges of nothing, clears of nothing): what piled up in the log before 2026-12-06.
  { weight: 1, arbitrary: fc.record({ t: fc.constant<'purges'>('purges'), n: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant<'reopen'>('reopen'), damage: fc.boolean(), salt: fc.nat(1000) }) },
);

type Outcome<T> = { ok: T } | { code: string };
const settle = async <T>(p: () => Promise<T> | T): Promise<Outcome<T>> => {
  try {
    return { ok: await p() };
  } catch (err) {
    return { code: (err as { code?: string }).code ?? String(err) };
  }
};

async function check(w: World, store: EventStore<Ev>, at: string): Promise<void> {
  const snap = await store.snapshot();
  const live = w.parts.flatMap((m, p) => m.liveEvents().map((e) => ({ e, p }))).sort((x, y) => x.e.payload.ts - y.e.payload.ts);
  expect(snap.map((e) => [e.partition, e.position, e.key, e.version, e.id, e.payload]), at).toEqual(
    live.map(({ e, p }) => [p, e.position, e.payload.k, e.version, e.id, e.payload]),
  );
  expect(await store.count(), at).toBe(live.length);
  expect(await store.sum('n'), at).toBe(live.reduce((s, x) => s + x.e.payload.n, 0));
  for (const k of KEYS) {
    const own = live.filter((x) => x.e.payload.k === k);
    expect([await store.count({ keys: [k] }), await store.sum('n', { keys: [k] })], `${at}: key ${k}`).toEqual([own.length, own.reduce((s, x) => s + x.e.payload.n, 0)]);
  }
  const s = store.stats;
  w.parts.forEach((m, p) => {
    const ps = s.partitions[p];
    expect({
      p, appended: ps.appended, discarded: ps.discarded, rejected: ps.rejected, duplicates: ps.duplicates, conflicts: ps.conflicts,
      purged: ps.purged, live: ps.live, keys: ps.keys, dedupIds: ps.dedupIds, failed: ps.failed,
    }, at).toEqual({
      p, appended: m.appended, discarded: m.discarded, rejected: m.rejected, duplicates: m.duplicates, conflicts: m.conflicts,
      purged: m.purged, live: m.live, keys: liveKeys(m), dedupIds: m.dedup.length, failed: false,
    });
  });
  const inWindow = w.parts.flatMap((m) => {
    const own = m.liveEvents();
    if (own.length === 0) return [];
    const newest = Math.max(...own.map((e) => e.payload.ts));
    return own.filter((e) => e.payload.ts >= newest - 10).map((e) => e.payload.n);
  });
  if (live.length > 0) expect(await store.windowAggregate('n'), `${at}: window`).toMatchObject({ count: inWindow.length, sum: inWindow.reduce((a, n) => a + n, 0) });
}

/** Runs one write command against the store and the model (the model decides what the store must answer). */
async function write(w: World, store: EventStore<Ev>, c: Exclude<Cmd, { t: 'reopen' }>, at: string): Promise<void> {
  if (c.t === 'append') {
    const e: Ev = { k: KEYS[c.k], n: c.n, ts: w.ts++, pad: c.pad };
    const p = w.route(e.k);
    const m = w.parts[p];
    const expected = c.expected === 'actual' ? m.version(e.k) : c.expected;
    const want = appendOne(m, e, c.id, expected);
    const got = await settle(() => store.append(e, { id: c.id, expectedVersion: expected }));
    if (want.code !== undefined) expect(got, at).toEqual({ code: want.code });
    else expect(got, at).toEqual({ ok: { id: c.id ?? expect.any(String), partition: p, ...want.result } });
    if ('ok' in got) learnId(m, got.ok);
    m.trim();
  } else if (c.t === 'batch') {
    // tryAppend with fresh ids (so the model knows them), retried while the input ring is full, then flush.
    for (const [k, n, pad] of c.rows) {
      const e: Ev = { k: KEYS[k], n, ts: w.ts++, pad };
      const id = `t${e.ts}`;
      const m = w.of(e.k);
      const too = m.tooLarge(e, id);
      let got: Outcome<boolean>;
      while ('ok' in (got = await settle(() => store.tryAppend(e, { id }))) && !got.ok) await new Promise((r) => setImmediate(r));
      if (too) expect(got, at).toEqual({ code: 'RS_ERR_EVENT_TOO_LARGE' });
      else {
        expect(got, at).toEqual({ ok: true });
        m.commit(e, id);
      }
    }
    await store.flush();
    for (const m of w.parts) m.trim();
  } else if (c.t === 'purges') {
    // Alternately a purge of nothing (timestamps start at 1) and a clear (the first one may remove events).
    const want: Outcome<number>[] = [];
    const got: Outcome<number>[] = [];
    for (let i = 0; i < c.n; i++) {
      const purge = i % 2 === 0;
      want.push({ ok: w.parts.map((m) => (purge ? m.purge(1) : m.clear())).reduce((a, b) => a + b, 0) });
      got.push(await settle(() => (purge ? store.purge({ olderThan: 1 }) : store.clear())));
    }
    expect(got, at).toEqual(want);
  } else {
    const cutoff = c.t === 'clear' ? null : w.ts - c.back;
    const total = w.parts.map((m) => (cutoff === null ? m.clear() : m.purge(cutoff))).reduce((a, b) => a + b, 0);
    expect(await settle(() => (cutoff === null ? store.clear() : store.purge({ olderThan: cutoff }))), at).toEqual({ ok: total });
  }
}

/** What the runs exercised (printed under MODEL_PROGRESS). */
const tally = { reopens: 0, fallbacks: 0, maxLogShare: 0 };

const TIMEOUT = Math.max(180_000, RUNS(10) * 6_000);

describe('durable EventStore against a plain model, across restarts', () => {
  afterAll(removeScratch);
  for (const partitions of [1, 2]) {
    let sequences = 0;
    it(`${partitions} partition(s): append, tryAppend + flush, ids, expected versions, purge, clear, evictions, reopen, damaged newest checkpoint`, async () => {
      const geometry = {
        partitions, capacity: CAPACITY * partitions, payloadBytes: ARENA * partitions, dedupWindow: WINDOW, dormantKeys: 1000 * partitions,
        key: 'k', timestamp: 'ts', values: { n: 'n' }, window: { sizeMs: 10, bucketMs: 1 },
      } as const;
      const probe = EventStore.create<Ev>(geometry);
      const image = (await probe.exportImages())[0].length;
      await probe.close();
      // Per partition (docs/durability.md, "Disk bound"): the log since the older kept checkpoint, two checkpoint
      // intervals of four images each (a checkpoint is due once the log after the last holds four images' worth),
      // plus the drains run while a checkpoint waits for evictions to be reported (three images, as in
      // test/long-uptime/disk.test.ts), plus the segment the cut lands in and the active one.
      const logBound = 11 * image + 2 * SEGMENT;
      await fc.assert(
        fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 40, size: 'max' }), async (cmds) => {
          progress(`durable events ${partitions}p ${JSON.stringify(tally)}`, ++sequences);
          const dir = scratch('rs-dem-');
          const options = { ...geometry, durability: { dir, fsync: 'never' as const, segmentBytes: SEGMENT, checkpointIntervalMs: 3_600_000 } };
          let store = await EventStore.open<Ev>(options);
          const w = new World(partitions, () => new Model(CAPACITY, ARENA, ARENA - 32, WINDOW), (k) => store.partitionOf(k));
          const damaged = new Set<string>();
          const sessions = new SessionBytes(segmentBytesPerPartition(dir, partitions));
          try {
            for (const [i, c] of cmds.entries()) {
              const at = `command #${i} ${JSON.stringify(c)}`;
              if (c.t === 'reopen') {
                sessions.closing(segmentBytesPerPartition(dir, partitions));
                await store.close();
                const hit = c.damage ? damageNewestCheckpoint(dir, damaged, c.salt) : 0;
                store = await EventStore.open<Ev>(options);
                tally.reopens++;
                tally.fallbacks += hit;
                const bytes = segmentBytesPerPartition(dir, partitions);
                const recent = sessions.reopened(bytes, SEGMENT, hit > 0);
                tally.maxLogShare = Math.max(tally.maxLogShare, ...bytes.map((b) => Math.round((100 * b) / logBound)));
                for (const [p, b] of bytes.entries()) {
                  expect(b, `${at}: partition ${p}'s log bytes (bound ${logBound})`).toBeLessThanOrEqual(logBound);
                  expect(b, `${at}: partition ${p}'s log bytes; the sessions wrote ${recent[p].wrote}`).toBeLessThanOrEqual(recent[p].bound);
                }
              } else await write(w, store, c, at);
              await check(w, store, at);
            }
            await store.close();
            store = await EventStore.open<Ev>(options); // the end state survives one more restart
            await check(w, store, 'after the last reopen');
          } finally {
            await store.close();
          }
        }),
        {
          numRuns: RUNS(10), seed: SEED,
          // A failure shrinks for a long while (each sequence runs real stores): stop shrinking in time to report it.
          interruptAfterTimeLimit: TIMEOUT - 30_000, markInterruptAsFailure: false,
          endOnFailure: process.env.MODEL_NO_SHRINK !== undefined, // MODEL_NO_SHRINK=1: report the first failure as found
          // Run first: sessions of count-0 frames only (only close() checkpoints), the case that grew the log by a
          // session at each restart until 2026-12-06 (the restore's log position).
          examples: [[[1, 2, 3].flatMap((): Cmd[] => [{ t: 'purges', n: 120 }, { t: 'reopen', damage: false, salt: 0 }])]],
        },
      );
    }, TIMEOUT);
  }
});
