// Model-based test: random sequences of appends (single and batch, with
// expected versions and ids), purges, clears and queries run against a real
// EventStore and against the plain model (model.ts); after every command the
// store must answer what the model says. Small capacities, a small arena and a
// small idempotency window, so evictions by slots and by bytes and the window's
// edge happen in most runs.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore, type AppendResult } from '../../dist/src/index.js';
import { Model, type Ev } from './model.js';

const CAPACITY = 6;
const ARENA = 400;
const WINDOW = 3;
const KEYS = ['a', 'b', 'cé', 'd'];

interface Real {
  store: EventStore<Ev>;
}

const settle = async <T>(p: Promise<T>): Promise<{ ok: T } | { code: string }> => {
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

async function checkAll(m: Model, r: Real): Promise<void> {
  const snap = await r.store.snapshot();
  const live = m.liveEvents();
  expect(snap.map((e) => [e.position, e.key, e.version, e.payload])).toEqual(live.map((e) => [e.position, e.payload.k, e.version, e.payload]));
  snap.forEach((e, i) => {
    if (live[i].id !== null) expect(e.id).toBe(live[i].id);
  });
  expect(await r.store.count()).toBe(live.length);
  expect(await r.store.sum('n')).toBe(live.reduce((s, e) => s + e.payload.n, 0));
  for (const k of KEYS) expect(await r.store.count({ keys: [k] })).toBe(live.filter((e) => e.payload.k === k).length);
  const s = r.store.stats;
  expect({ appended: s.appended, discarded: s.discarded, rejected: s.rejected, duplicates: s.duplicates, conflicts: s.conflicts, purged: s.purged, live: s.live }).toEqual({
    appended: m.appended, discarded: m.discarded, rejected: m.rejected, duplicates: m.duplicates, conflicts: m.conflicts, purged: m.purged, live: m.live,
  });
  // The window is anchored at the newest live event: [newest - 10, newest], both ends inclusive.
  if (live.length > 0) {
    const newest = Math.max(...live.map((e) => e.payload.ts));
    const inWindow = live.filter((e) => e.payload.ts >= newest - 10);
    expect(await r.store.windowAggregate('n')).toMatchObject({ count: inWindow.length, sum: inWindow.reduce((a, e) => a + e.payload.n, 0) });
  }
}

/** Applies one call's outcome to the model and compares it with the store's. */
function appendOne(m: Model, e: Ev, id: string | undefined, expected: number | undefined): { result?: { position: number; version: number; duplicate: boolean }; code?: string } {
  if (m.tooLarge(e, id)) return { code: 'RS_ERR_EVENT_TOO_LARGE' };
  if (expected !== undefined && m.version(e.k) !== expected) {
    m.appended++;
    m.rejected++;
    m.conflicts++;
    return { code: 'RS_ERR_CONFLICT' };
  }
  if (id !== undefined) {
    const d = m.findId(e.k, id);
    if (d !== undefined) {
      m.appended++;
      m.rejected++;
      m.duplicates++;
      return { result: { position: d.position, version: d.version, duplicate: true } };
    }
  }
  return { result: { ...m.commit(e, id), duplicate: false } };
}

class AppendCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly key: number, readonly n: number, readonly pad: string, readonly id: string | undefined, readonly expected: number | 'actual' | undefined) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const e: Ev = { k: KEYS[this.key], n: this.n, ts: m.ts++, pad: this.pad };
    const expected = this.expected === 'actual' ? m.version(e.k) : this.expected;
    const want = appendOne(m, e, this.id, expected);
    const got = await settle(r.store.append(e, { id: this.id, expectedVersion: expected }));
    m.trim();
    if (want.code !== undefined) expect(got).toEqual({ code: want.code });
    else expect(got).toEqual({ ok: { id: this.id ?? expect.any(String), partition: 0, ...want.result } });
    await checkAll(m, r);
  }
  toString(): string {
    return `append(${KEYS[this.key]}, ${this.n}, pad ${this.pad.length}${this.id ? `, id ${this.id}` : ''}${this.expected !== undefined ? `, expected ${this.expected}` : ''})`;
  }
}

class BatchCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly keys: number[], readonly pads: string[], readonly conditional: 'actual' | number | undefined, readonly withIds: boolean) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    // A conditional batch has one key (the first); ids are fresh (the window's edge is the single appends' job).
    const events: Ev[] = this.keys.map((k, i) => ({ k: KEYS[this.conditional !== undefined ? this.keys[0] : k], n: i, ts: m.ts++, pad: this.pads[i % this.pads.length] }));
    const ids = this.withIds ? events.map((e) => `b${e.ts}`) : undefined;
    const expected = this.conditional === 'actual' ? m.version(events[0].k) : this.conditional;
    const got = await settle(r.store.append(events, { id: ids, expectedVersion: expected }));
    let want: { results?: AppendResult[]; code?: string };
    if (events.some((e, i) => m.tooLarge(e, ids?.[i]))) want = { code: 'RS_ERR_EVENT_TOO_LARGE' };
    else if (expected !== undefined && m.version(events[0].k) !== expected) {
      m.appended += events.length;
      m.rejected += events.length;
      m.conflicts += events.length;
      want = { code: 'RS_ERR_CONFLICT' };
    } else {
      want = { results: events.map((e, i) => ({ id: ids?.[i] ?? expect.any(String), partition: 0, ...m.commit(e, ids?.[i]), duplicate: false })) };
    }
    m.trim();
    if (want.code !== undefined) expect(got).toEqual({ code: want.code });
    else expect(got).toEqual({ ok: want.results });
    await checkAll(m, r);
  }
  toString(): string {
    return `batch(${this.keys.map((k) => KEYS[k]).join(',')}, pads ${this.pads.map((p) => p.length).join('/')}${this.conditional !== undefined ? `, expected ${this.conditional}` : ''}${this.withIds ? ', ids' : ''})`;
  }
}

class PurgeCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly back: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const cutoff = m.ts - this.back;
    expect(await r.store.purge({ olderThan: cutoff })).toBe(m.purge(cutoff));
    await checkAll(m, r);
  }
  toString(): string {
    return `purge(ts < now - ${this.back})`;
  }
}

class ClearCmd implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    expect(await r.store.clear()).toBe(m.clear());
    await checkAll(m, r);
  }
  toString(): string {
    return 'clear()';
  }
}

const idArb = fc.option(fc.constantFrom('i1', 'i2', 'i3', 'i4', 'i5', 'i6'), { nil: undefined });
const commands = [
  fc.tuple(fc.nat(KEYS.length - 1), fc.integer({ min: -50, max: 50 }), padArb, idArb, expectedArb).map(([k, n, pad, id, exp]) => new AppendCmd(k, n, pad, id, exp)),
  fc.tuple(fc.nat(KEYS.length - 1), fc.integer({ min: -50, max: 50 }), padArb, idArb, expectedArb).map(([k, n, pad, id, exp]) => new AppendCmd(k, n, pad, id, exp)),
  fc.tuple(fc.array(fc.nat(KEYS.length - 1), { minLength: 1, maxLength: 9 }), fc.array(padArb, { minLength: 1, maxLength: 3 }), expectedArb, fc.boolean()).map(
    ([keys, pads, cond, ids]) => new BatchCmd(keys, pads, cond, ids),
  ),
  fc.nat(8).map((b) => new PurgeCmd(b)),
  fc.constant(new ClearCmd()),
];

const stores: EventStore<Ev>[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

describe('EventStore against a plain model', () => {
  it('appends, batches, expected versions, ids, purge, clear, evictions by slots and bytes, queries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (cmds) => {
        const store = EventStore.create<Ev>({
          partitions: 1, capacity: CAPACITY, payloadBytes: ARENA, dedupWindow: WINDOW, dormantKeys: 1000,
          key: 'k', timestamp: 'ts', values: { n: 'n' }, window: { sizeMs: 10, bucketMs: 1 },
        });
        stores.push(store);
        const m = new Model(CAPACITY, ARENA, ARENA - 32, WINDOW);
        try {
          await fc.asyncModelRun(() => ({ model: m, real: { store } }), cmds);
        } finally {
          stores.splice(stores.indexOf(store), 1);
          await store.close();
        }
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 30), seed: process.env.MODEL_SEED !== undefined ? Number(process.env.MODEL_SEED) : undefined },
    );
  }, 120_000);
});
