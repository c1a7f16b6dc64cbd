// kill -9 variant of the durable MetricStore model test: a child process (test/fixtures/durable-metric-model.mjs)
// applies a seeded list of commands (add, addMany, keyId + releaseKeyId, clear) to a durable store, printing
// `ack <i>` as each resolves, and is killed with SIGKILL after a random number of acks (never a close(), so
// no checkpoint at close). Each round reopens the directory: the store must answer exactly what an in-memory
// twin answers after every acknowledged command and at most the one in flight (a prefix: nothing acknowledged
// lost, nothing applied twice, nothing out of order), and the log must stay under the geometry's bound over
// the rounds (only the capacity trigger cuts it, counted across restarts). docs/testing.md, "Durable model tests".
//
// MODEL_RUNS=<sequences> (default 2, of 6 rounds each), MODEL_SEED=<seed> replays one.
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricStore } from '../../dist/src/index.js';
import { apply, commands, durability } from '../fixtures/durable-metric-model.mjs';
import { RUNS, SEED, progress, removeScratch, runThenKill, scratch, segmentBytes } from './durable.helpers.js';
import { SEGMENT, answers, unitFrameBytes } from './durable-metric.helpers.js';

const CHILD = fileURLToPath(new URL('../fixtures/durable-metric-model.mjs', import.meta.url));
const CAPACITY = 60;
const PARTITIONS = 2;
const COUNT = 400; // commands a round's list holds; the kill comes first
const ROUNDS = 6;
const TIMEOUT = Math.max(120_000, RUNS(2) * 30_000);

type Command = Parameters<typeof apply>[1];

/** A twin after `done` (the commands of earlier rounds that were found) and then `list`'s first `n`, plus `half`: a pin's keyId alone. */
async function twinAfter(done: Command[], list: Command[], n: number, half: boolean): Promise<MetricStore> {
  const twin = MetricStore.create({ capacity: CAPACITY, partitions: PARTITIONS });
  for (const c of [...done, ...list.slice(0, n)]) await apply(twin, c);
  if (half) await apply(twin, { t: 'keyId', k: (list[n] as { k: number }).k });
  return twin;
}

describe('durable MetricStore killed with SIGKILL at random points, against an in-memory twin', () => {
  afterAll(removeScratch);
  it(`${ROUNDS} rounds a sequence: every acknowledged command is there once, in order; the log stays bounded`, async () => {
    const unit = await unitFrameBytes(PARTITIONS, CAPACITY);
    // As in durable-metric.model.test.ts: under two capacities of one-sample frames since the older kept
    // checkpoint plus the batch that crossed the line (an addMany of at most 20), the segment the cut lands in
    // and the active one.
    const logBound = (2 * CAPACITY + 20) * unit * 1.1 + 2 * SEGMENT;
    let sequences = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(2 ** 31 - 1), fc.integer({ min: 1, max: COUNT })), { minLength: ROUNDS, maxLength: ROUNDS }), async (rounds) => {
        progress('durable metric kill', ++sequences);
        const dir = scratch('rs-dmk-');
        const done: Command[] = [];
        for (const [r, [seed, kill]] of rounds.entries()) {
          const list = commands(seed, COUNT) as Command[];
          const acked = await runThenKill(CHILD, [dir, String(seed), String(COUNT), String(CAPACITY)], kill);
          const s = await MetricStore.open({ capacity: CAPACITY, partitions: PARTITIONS, durability: durability(dir) });
          try {
            const got = answers(s);
            // What the restore may hold: the acked commands, and part or all of the one in flight.
            const candidates: [number, boolean][] = [[acked, false], [acked + 1, false]];
            if (list[acked]?.t === 'pin') candidates.push([acked, true]);
            let found: [number, boolean] | undefined;
            for (const [n, half] of candidates) {
              if (n > list.length) continue;
              if (JSON.stringify(answers(await twinAfter(done, list, n, half))) === JSON.stringify(got)) found ??= [n, half];
            }
            if (found === undefined) expect(got, `round ${r}: seed ${seed}, ${acked} acked: no prefix matches`).toEqual(answers(await twinAfter(done, list, acked, false)));
            const [n, half] = found!;
            done.push(...list.slice(0, n));
            if (half) done.push({ t: 'keyId', k: (list[n] as { k: number }).k });
            expect(segmentBytes(dir), `round ${r}: log bytes (bound ${Math.round(logBound)})`).toBeLessThanOrEqual(logBound);
          } finally {
            await s.close(); // a checkpoint: the next round's child restores from it
          }
        }
      }),
      { numRuns: RUNS(2), seed: SEED, endOnFailure: process.env.MODEL_NO_SHRINK !== undefined, interruptAfterTimeLimit: TIMEOUT - 30_000 },
    );
  }, TIMEOUT);
});
