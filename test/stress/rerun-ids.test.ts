// A partition worker killed in the middle of a drain, and that drain re-run by the next worker: each event
// appended once must be stored (live or reported evicted) once, under one id, and the id its producer was told
// (append) or a reader saw is the one stored. Real partition worker threads, killed with crashPartition.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../dist/src/index.js';
// @ts-expect-error plain ESM module without types
import { rng } from './prng.mjs';

interface Ev {
  k: string;
  n: number;
}
interface Seen {
  id: string;
  position: number;
  payload: Ev;
}

const stores: EventStore<Ev>[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A one-partition store (durable in `dir`, if given) that keeps every onDiscarded / onDiscardedLost report. */
async function make(capacity: number, dir?: string): Promise<{ store: EventStore<Ev>; discarded: Seen[]; lost: number[] }> {
  const discarded: Seen[] = [];
  const lost: number[] = [];
  const options = {
    partitions: 1, capacity, key: 'k', values: { n: 'n' },
    onDiscarded: (events: { id: string; position: number; payload: Ev }[]) => discarded.push(...events.map((e) => ({ id: e.id, position: e.position, payload: e.payload }))),
    onDiscardedLost: ({ positions }: { positions: number[] }) => lost.push(...positions),
  };
  const store = dir === undefined ? EventStore.create<Ev>(options) : await EventStore.open<Ev>({ ...options, durability: { dir } });
  stores.push(store);
  return { store, discarded, lost };
}

/** Waits until the callbacks caught up with the discarded counter, then a little more (a second report comes right after). */
async function settled(store: EventStore<Ev>, discarded: Seen[], lost: number[]): Promise<void> {
  await store.flush();
  for (let i = 0; i < 200 && discarded.length + lost.length < store.stats.discarded; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
}

/**
 * Every event (by its payload's n) at most once in live ∪ discarded, under one id at one position; every
 * id once; a missing n only at a position reported lost. Returns the stored copies by n.
 */
function storedOnce(live: Seen[], discarded: Seen[], lost: number[], appended: number[]): Map<number, Seen> {
  const byN = new Map<number, Seen>();
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const e of [...live, ...discarded]) {
    const was = byN.get(e.payload.n);
    if (was !== undefined) problems.push(`n=${e.payload.n} stored twice: ${was.id}@${was.position} and ${e.id}@${e.position}`);
    else byN.set(e.payload.n, e);
    if (ids.has(e.id)) problems.push(`id ${e.id} twice`);
    ids.add(e.id);
  }
  const missing = appended.filter((n) => !byN.has(n));
  if (missing.length > lost.length) problems.push(`events missing (${missing.length}) beyond the lost positions (${lost.length}): ${missing.slice(0, 5).join(' ')}`);
  expect(problems).toEqual([]);
  return byN;
}

describe('a drain re-run after its worker died mid-drain keeps each event once, under one id', () => {
  it('append(): the ids it resolved with are the ids stored, in the drain\'s evicted copies too', async () => {
    const { store, discarded, lost } = await make(4);
    const first = await store.append([1, 2, 3].map((n) => ({ k: 'k', n })));
    // One drain: positions 4..9 evict 1..5 (4 and 5 written by the drain itself); the worker dies once those
    // copies left it, and the re-run makes 4 and 5 again and evicts them again.
    const dying = store.crashPartition(0, { afterRecords: 6, afterEvictions: true });
    const results = await store.append([4, 5, 6, 7, 8, 9].map((n) => ({ k: 'k', n })));
    expect(await dying).toBe('evictions');
    expect(store.stats.restarts).toBe(1);
    await settled(store, discarded, lost);
    const told = new Map([...first, ...results].map((r, i) => [i + 1, r.id]));
    const byN = storedOnce(await store.snapshot(), discarded, lost, [...told.keys()]);
    for (const [n, id] of told) expect(byN.get(n)?.id, `n=${n}`).toBe(id);
    expect(discarded.map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
  });

  // tryAppend without an id: the worker writes the id (prefix drawn at its start, drain time, position), so a
  // re-run by a new worker makes a different id for an event the dead drain wrote (a durable partition's
  // re-run replays the logged prefix and time). Only the copies the dead drain both wrote and evicted were ever
  // seen (in onDiscarded); their re-made copies must not be reported.
  const cases = [['evictions', false], ['mid-drain', false], ['evictions', true]] as const;
  for (const [mode, durable] of cases) {
    it(`tryAppend() with worker-made ids, kills ${mode === 'evictions' ? 'just after a drain handed its evictions over' : 'in the middle of a drain'}${durable ? ', durable store' : ''}`, async () => {
      const dir = durable ? mkdtempSync(path.join(tmpdir(), 'rs-rerun-ids-')) : undefined;
      if (dir !== undefined) dirs.push(dir);
      const { store, discarded, lost } = await make(4, dir);
      const reader = store.reader();
      const r = rng(mode === 'evictions' ? 11 : 12);
      /** What a reader saw, by n: after the restarts each must be stored under that id (or its position lost). */
      const seen = new Map<number, { id: string; position: number }>();
      // Full from the start: every later event evicts one, so every drain the kill lands in has copies to hand over.
      await store.append([1, 2, 3, 4].map((n) => ({ k: 'k0', n })));
      const appended: number[] = [1, 2, 3, 4];
      let n = 4;
      const outcomes: string[] = [];
      for (let round = 0; round < 10; round++) {
        for (const e of reader.snapshot()) seen.set(e.payload.n, { id: e.id, position: e.position });
        const dying = store.crashPartition(0, { afterRecords: r.int(2, 12), afterEvictions: mode === 'evictions' });
        // More than the count, so the kill fires even when the records span drains.
        for (let i = 0; i < 16; i++) {
          n++;
          if (store.tryAppend({ k: `k${n % 3}`, n })) appended.push(n);
        }
        outcomes.push(await dying);
        await store.flush();
      }
      // Each kill landed where it was armed (this tests what it claims to).
      expect(outcomes).toEqual(new Array(10).fill(mode));
      for (const e of reader.snapshot()) seen.set(e.payload.n, { id: e.id, position: e.position });
      reader.close();
      expect(store.stats.restarts).toBe(10);
      await settled(store, discarded, lost);
      const byN = storedOnce(await store.snapshot(), discarded, lost, appended);
      // A kill in the middle of a drain takes the copies it evicted with it: those positions reach onDiscardedLost.
      for (const [k, at] of seen) expect(byN.get(k)?.id ?? (lost.includes(at.position) ? at.id : 'missing'), `n=${k}`).toBe(at.id);
      expect(store.stats.discarded).toBe(discarded.length + lost.length);
      expect(store.stats.appended).toBe(appended.length);
      if (dir === undefined) return;
      // Reopened from its log, the store has the same events under the same ids.
      const live = (await store.snapshot()).map((e) => [e.position, e.id]);
      await store.close();
      const again = await make(4, dir);
      expect((await again.store.snapshot()).map((e) => [e.position, e.id])).toEqual(live);
    });
  }
});
