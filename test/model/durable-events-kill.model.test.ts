// kill -9 variant of the durable EventStore model test: a child process (test/fixtures/durable-events-model.mjs)
// applies a seeded list of commands (appends with ids, some retried, purges, clears) to a durable store, printing
// `ack <i>` as each resolves, and is killed with SIGKILL after a random number of acks (no close()). Each round
// reopens the directory: the snapshot (partition, position, key, version, id, payload) and the counters that
// survive a crash must be the plain model's (model.ts) after every acknowledged command and at most the one in
// flight (a prefix: nothing acknowledged lost, nothing twice, nothing out of order; a retried id found again).
// docs/testing.md, "Durable model".
//
// MODEL_RUNS=<sequences> (default 2, of 5 rounds each), MODEL_SEED=<seed> replays one.
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore } from '../../dist/src/index.js';
import { commands, durability, eventOf, geometry } from '../fixtures/durable-events-model.mjs';
import { RUNS, SEED, progress, removeScratch, runThenKill, scratch } from './durable.helpers.js';
import { Model, World, appendOne, liveKeys, type Ev } from './model.js';

const CHILD = fileURLToPath(new URL('../fixtures/durable-events-model.mjs', import.meta.url));
const PARTITIONS = 2;
const COUNT = 300;
const ROUNDS = 5;
const TIMEOUT = Math.max(120_000, RUNS(2) * 40_000);

/** A command of the fixture's list; `parts`: a purge or clear that reached only these partitions before the kill. */
type Command = ReturnType<typeof commands>[number] & { parts?: number[] };

/** The model after `cmds`. */
function modelAfter(cmds: Command[], route: (k: string) => number): World {
  const w = new World(PARTITIONS, () => new Model(6, 400, 400 - 32, 3), route);
  for (const c of cmds) {
    if (c.t === 'append') {
      const m = w.of(c.k);
      appendOne(m, eventOf(c) as Ev, c.id, undefined);
      m.trim();
    } else for (const [p, m] of w.parts.entries()) if (c.parts?.includes(p) ?? true) (c.t === 'purge' ? m.purge(c.olderThan) : m.clear());
  }
  return w;
}

/** What a reopened store must equal: its live events in order and the counters a crash keeps. */
function view(w: World): unknown {
  return w.parts.map((m, p) => ({
    p, appended: m.appended, discarded: m.discarded, duplicates: m.duplicates, purged: m.purged, live: m.live, keys: liveKeys(m),
    events: m.liveEvents().map((e) => [e.position, e.payload.k, e.version, e.id, e.payload.n, e.payload.ts]),
  }));
}

async function viewOf(s: EventStore<Ev>): Promise<unknown> {
  const snap = await s.snapshot();
  return s.stats.partitions.map((ps, p) => ({
    p, appended: ps.appended, discarded: ps.discarded, duplicates: ps.duplicates, purged: ps.purged, live: ps.live, keys: ps.keys,
    events: snap.filter((e) => e.partition === p).sort((a, b) => a.position - b.position).map((e) => [e.position, e.key, e.version, e.id, e.payload.n, e.payload.ts]),
  }));
}

describe('durable EventStore killed with SIGKILL at random points, against the plain model', () => {
  afterAll(removeScratch);
  it(`${ROUNDS} rounds a sequence: every acknowledged command is there once, in order`, async () => {
    let sequences = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(2 ** 31 - 1), fc.integer({ min: 1, max: COUNT })), { minLength: ROUNDS, maxLength: ROUNDS }), async (rounds) => {
        progress('durable events kill', ++sequences);
        const dir = scratch('rs-dek-');
        const done: Command[] = [];
        try {
          for (const [r, [seed, kill]] of rounds.entries()) {
            const list = commands(seed, COUNT, r);
            const acked = await runThenKill(CHILD, [dir, String(seed), String(COUNT), String(r), String(PARTITIONS)], kill);
            const s = await EventStore.open<Ev>({ ...geometry(PARTITIONS), durability: durability(dir) });
            try {
              const got = (await viewOf(s)) as unknown[];
              const route = (k: string): number => s.partitionOf(k);
              // The acked commands, and the one in flight or not; a purge or clear in flight may have reached some
              // partitions only (each writes its own frame), so each partition is matched on its own (an append
              // touches one: the others match both).
              const models = [acked, acked + 1].filter((k) => k <= list.length).map((k) => view(modelAfter([...done, ...list.slice(0, k)], route)) as unknown[]);
              const picked = got.map((g, p) => models.findIndex((m) => JSON.stringify(m[p]) === JSON.stringify(g)));
              for (const [p, i] of picked.entries()) if (i < 0) expect(got[p], `round ${r}: seed ${seed}, ${acked} acked: partition ${p} matches no prefix`).toEqual(models[0][p]);
              // The next round starts from what the store holds: the command in flight where a partition has it.
              done.push(...list.slice(0, acked));
              if (picked.some((i) => i === 1)) done.push({ ...list[acked], parts: picked.flatMap((i, p) => (i === 1 ? [p] : [])) });
            } finally {
              await s.close(); // a checkpoint: the next round's child restores from it
            }
          }
        } catch (err) {
          // A kill lands where it lands: the list of rounds may pass when replayed, so say what failed now.
          process.stderr.write(`durable events kill: ${JSON.stringify(rounds)} failed: ${(err as Error).message}\n`);
          throw err;
        }
      }),
      {
        numRuns: RUNS(2), seed: SEED, endOnFailure: process.env.MODEL_NO_SHRINK !== undefined, interruptAfterTimeLimit: TIMEOUT - 30_000,
        // MODEL_EXAMPLE='[[seed,kill],...]': run that list of rounds first (where a kill lands varies from run to run).
        examples: process.env.MODEL_EXAMPLE !== undefined ? [[JSON.parse(process.env.MODEL_EXAMPLE) as [number, number][]]] : [],
      },
    );
  }, TIMEOUT);
});
