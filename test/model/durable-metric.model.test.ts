// Model-based test of the durable MetricStore across restarts: random sequences of add, addMany, keyId,
// addById, releaseKeyId and clear run against a durable store and against an in-memory twin of the same
// geometry (MetricStore.create), with close + reopen at random points, some of them after one byte of the
// newest checkpoint was flipped (the restore must fall back to the older kept checkpoint and replay the log
// after it). Every write is awaited, so each is acknowledged: after every command and every reopen the
// durable store must answer exactly what the twin answers (stats, count/sum/min/max per key and range, top,
// keys, keyOf), so nothing acknowledged is lost or applied twice. After every reopen the log's segment bytes
// must stay under a bound derived from the geometry (see `logBound`). docs/testing.md, "Durable model tests".
//
// MODEL_RUNS=300 for a long hunt; MODEL_SEED=<seed> replays a failure (fast-check prints seed and path).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricStore } from '../../dist/src/index.js';
import { RUNS, SEED, SessionBytes, damageNewestCheckpoint, progress, removeScratch, scratch, segmentBytes } from './durable.helpers.js';
import { KEYS, SEGMENT, answers, unitFrameBytes } from './durable-metric.helpers.js';

type Cmd =
  | { t: 'add'; k: number; v: number; ts: number }
  | { t: 'addMany'; rows: [number, number, number][] }
  | { t: 'keyId'; k: number }
  | { t: 'addById'; id: number; v: number; ts: number }
  | { t: 'release'; id: number }
  | { t: 'clear' }
  | { t: 'churn'; k: number; n: number }
  | { t: 'reopen'; damage: boolean; salt: number };

const value = fc.integer({ min: -1000, max: 1000 });
const ts = fc.nat(100);
const key = fc.nat(KEYS.length - 1);
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant<'add'>('add'), k: key, v: value, ts }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant<'addMany'>('addMany'), rows: fc.array(fc.tuple(key, value, ts), { minLength: 1, maxLength: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant<'keyId'>('keyId'), k: key }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant<'addById'>('addById'), id: fc.nat(9), v: value, ts }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant<'release'>('release'), id: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant<'clear'>('clear') }) },
  // Many frames with no sample: what piled up in the log before 2026-12-06 (test/long-uptime/disk.test.ts).
  { weight: 1, arbitrary: fc.record({ t: fc.constant<'churn'>('churn'), k: key, n: fc.integer({ min: 1, max: 150 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant<'reopen'>('reopen'), damage: fc.boolean(), salt: fc.nat(1000) }) },
);

type Outcome = { ok: unknown } | { code: string };
const settle = async (f: () => unknown): Promise<Outcome> => {
  try {
    return { ok: await f() };
  } catch (err) {
    return { code: (err as { code?: string }).code ?? String(err) };
  }
};

/** `n` times keyId then releaseKeyId of one key (2n frames with no sample); the ids it got. */
async function churn(s: { keyId(key: string): number | Promise<number>; releaseKeyId(id: number): boolean | Promise<boolean> }, key: string, n: number): Promise<number[]> {
  const got: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = await s.keyId(key);
    got.push(id);
    await s.releaseKeyId(id);
  }
  return got;
}

/** What the runs exercised (printed under MODEL_PROGRESS): reopens, fallbacks to the older checkpoint, frames replayed. */
const tally = { reopens: 0, fallbacks: 0, replayed: 0, maxLogShare: 0 };

const TIMEOUT = Math.max(120_000, RUNS(12) * 4_000);

describe('durable MetricStore against an in-memory twin, across restarts', () => {
  afterAll(removeScratch);
  // Small capacities checkpoint by count within a session; 1000 only at close() (each session writes less).
  for (const [partitions, capacity] of [[1, 24], [2, 40], [2, 1000]] as const) {
    let sequences = 0;
    it(`${partitions} partition(s), capacity ${capacity}: add, addMany, keyId, addById, releaseKeyId, clear, reopen, damaged newest checkpoint`, async () => {
      const unit = await unitFrameBytes(partitions, capacity);
      // The log since the older kept checkpoint: a checkpoint is due once `capacity` samples (a frame with no
      // sample counts as one) were written after the last one, so the log holds under two capacities' worth of
      // frames plus the batch that crossed the line (at most 30 samples here); a sample costs at most `unit`
      // bytes (an addMany's samples less: they share a frame). Plus the segment the cut lands in and the active
      // one, and one segment header per segment (under 64 bytes, at most one segment per 4 KiB).
      const logBound = (2 * capacity + 30) * unit * 1.1 + 2 * SEGMENT;
      await fc.assert(
        fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 60, size: 'max' }), async (cmds) => {
          progress(`durable metric ${partitions}p ${JSON.stringify(tally)}`, ++sequences);
          const dir = scratch('rs-dmm-');
          const options = { capacity, partitions, durability: { dir, fsync: 'never' as const, segmentBytes: SEGMENT, checkpointIntervalMs: 3_600_000 } };
          const twin = MetricStore.create({ capacity, partitions });
          let store = await MetricStore.open(options);
          const damaged = new Set<string>();
          const sessions = new SessionBytes([segmentBytes(dir)]);
          const ids: number[] = []; // ids keyId returned, in order (the commands pick among them)
          try {
            for (const [i, c] of cmds.entries()) {
              const at = `command #${i} ${JSON.stringify(c)}`;
              if (c.t === 'reopen') {
                sessions.closing([segmentBytes(dir)]);
                await store.close();
                const hit = c.damage ? damageNewestCheckpoint(dir, damaged, c.salt) : 0;
                store = await MetricStore.open(options);
                if (hit > 0) expect(store.restored.checkpoint, `${at}: fell back`).toBeGreaterThan(0);
                tally.reopens++;
                tally.fallbacks += hit;
                tally.replayed += store.restored.frames;
                const bytes = segmentBytes(dir);
                tally.maxLogShare = Math.max(tally.maxLogShare, Math.round((100 * bytes) / logBound));
                expect(bytes, `${at}: log bytes after the reopen (bound ${Math.round(logBound)})`).toBeLessThanOrEqual(logBound);
                const [recent] = sessions.reopened([bytes], SEGMENT, hit > 0);
                expect(bytes, `${at}: log bytes after the reopen; the sessions wrote ${recent.wrote}`).toBeLessThanOrEqual(recent.bound);
              } else {
                // An id keyId returned (maybe released since, or from before a clear), or -1 before any.
                const pick = 'id' in c && ids.length > 0 ? ids[c.id % ids.length] : -1;
                const run = (s: MetricStore | Awaited<ReturnType<typeof MetricStore.open>>): Promise<Outcome> => settle(() => {
                  switch (c.t) {
                    case 'add': return s.add(KEYS[c.k], c.v, c.ts);
                    case 'addMany': return s.addMany(c.rows.map((r) => KEYS[r[0]]), c.rows.map((r) => r[1]), c.rows.map((r) => r[2]));
                    case 'keyId': return s.keyId(KEYS[c.k]);
                    case 'addById': return s.addById(pick, c.v, c.ts);
                    case 'release': return s.releaseKeyId(pick);
                    case 'clear': return s.clear();
                    case 'churn': return churn(s, KEYS[c.k], c.n);
                  }
                });
                const want = await run(twin);
                const got = await run(store);
                expect(got, at).toEqual(want);
                if (c.t === 'keyId' && 'ok' in want) ids.push(want.ok as number);
              }
              expect(answers(store), at).toEqual(answers(twin));
            }
            await store.close();
            store = await MetricStore.open(options); // the end state survives one more restart
            expect(answers(store), 'after the last reopen').toEqual(answers(twin));
          } finally {
            await store.close();
          }
        }),
        {
          numRuns: RUNS(12), seed: SEED,
          // A failure shrinks for a long while (each sequence runs real stores): stop shrinking in time to report it.
          interruptAfterTimeLimit: TIMEOUT - 30_000, markInterruptAsFailure: false,
          endOnFailure: process.env.MODEL_NO_SHRINK !== undefined, // MODEL_NO_SHRINK=1: report the first failure as found
          // Run first: sessions of frames with no sample, each under a capacity (only close() checkpoints), the
          // case that grew the log by a session at each restart until 2026-12-06 (the restore's log position).
          examples: [[[1, 2, 3].flatMap((k): Cmd[] => [{ t: 'churn', k, n: 60 }, { t: 'reopen', damage: false, salt: 0 }])]],
        },
      );
    }, TIMEOUT);
  }
});
