// The ring-store applier (src/server/replication/applier.ts) against a stand-in log and store: what a
// publisher is answered when a grouped store call stored part of its events, and which message ids a
// checkpoint taken while messages wait in the queue carries (a daemon started from it must skip the
// same duplicates as one that applied the whole log).
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PartialAppendError, RingstoreError } from '../../dist/src/index.js';
import { Applier, RECENT_IDS } from '../../dist/src/server/replication/applier.js';
import { FakeLog, type FakeMsg } from './fake-jetstream-log.js';


const enc = new TextEncoder();
const msg = (seq: number, id: string, op: unknown): FakeMsg => ({
  seq, subject: 'ringstore.ring.streams', data: enc.encode(JSON.stringify(op)), headers: { get: (k: string) => (k === 'Nats-Msg-Id' ? id : '') },
});
const append = (...r: unknown[]): unknown => ({ k: 'append', r });

const jsm = { streams: { info: async () => ({ state: { last_seq: 0, messages: 0 } }) } };
const logger = pino({ level: 'silent' });
const result = (i: number): { id: string; partition: number; position: number; version: number; duplicate: boolean } => ({ id: `e${i}`, partition: 0, position: i, version: i, duplicate: false });

describe('applier (stand-in log and store)', () => {
  it('a grouped call that stored part of its events answers each message with its own events: stored ones, the others and their indexes', async () => {
    const log = new FakeLog();
    let release!: () => void;
    const firstHeld = new Promise<void>((r) => (release = r));
    const calls: number[] = [];
    const store = {
      append: async (records: unknown[]) => {
        calls.push(records.length);
        if (calls.length === 1) {
          await firstHeld;
          return records.map((_, i) => result(i));
        }
        // The group [m2: a], [m3: b, c]: a and b stored, c not (its partition failed for good).
        const worker = new RingstoreError('RS_ERR_WORKER', 'partition 1 failed for good');
        throw new PartialAppendError([result(10), result(11), undefined], [undefined, undefined, worker]);
      },
    };
    const outcomes = new Map<string, { ok: boolean; value?: unknown; error?: unknown }>();
    const applier = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, onApplied: (k: string, o: never) => outcomes.set(k, o), onGap: () => undefined } as never);
    applier.start();
    log.push(msg(1, 'm1', append({ x: 0 })));
    await log.taken(1);
    // m1's store call is in flight: m2 and m3 wait in the queue and go to the store as one call.
    log.push(msg(2, 'm2', append({ x: 1 })), msg(3, 'm3', append({ x: 2 }, { x: 3 })));
    await log.taken(3);
    release();
    await applier.reached(3);
    await applier.close();
    expect(calls).toEqual([1, 3]);
    expect(outcomes.get('m2')).toMatchObject({ ok: true, value: [result(10)] });
    const m3 = outcomes.get('m3')!;
    expect(m3.ok).toBe(false);
    // m3 sent 2 events: its first was stored, its second was not. Told about the group's 3 events, its
    // publisher would answer "index 0 and 1 stored, index 2 not" and the client would retry nothing.
    expect(m3.error).toBeInstanceOf(PartialAppendError);
    const e = m3.error as PartialAppendError;
    expect(e.results).toEqual([result(11), undefined]);
    expect((e.details as { stored: { index: number }[] }).stored.map((x) => x.index)).toEqual([0]);
    expect((e.details as { notStored: unknown[] }).notStored).toEqual([{ index: 1, code: 'RS_ERR_WORKER' }]);
  });

  it('a grouped call that stored none of a message\'s events answers it with their error, not a partial append of other messages\' events', async () => {
    const log = new FakeLog();
    let release!: () => void;
    const firstHeld = new Promise<void>((r) => (release = r));
    let n = 0;
    const worker = new RingstoreError('RS_ERR_WORKER', 'partition 1 failed for good');
    const store = {
      append: async (records: unknown[]) => {
        if (++n === 1) {
          await firstHeld;
          return records.map((_, i) => result(i));
        }
        // The group [m2: a], [m3: b]: a stored, b not.
        throw new PartialAppendError([result(10), undefined], [undefined, worker]);
      },
    };
    const outcomes = new Map<string, { ok: boolean; value?: unknown; error?: unknown }>();
    const applier = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, onApplied: (k: string, o: never) => outcomes.set(k, o), onGap: () => undefined } as never);
    applier.start();
    log.push(msg(1, 'm1', append({ x: 0 })));
    await log.taken(1);
    log.push(msg(2, 'm2', append({ x: 1 })), msg(3, 'm3', append({ x: 2 })));
    await log.taken(3);
    release();
    await applier.reached(3);
    await applier.close();
    expect(outcomes.get('m2')).toMatchObject({ ok: true, value: [result(10)] });
    // Not "1 of 2 events were stored, index 0": m3's only event (its index 0) was not.
    expect(outcomes.get('m3')).toMatchObject({ ok: false, error: worker });
  });

  it('a checkpoint taken while messages wait in the queue carries every id a daemon started from it needs to skip the same duplicates', async () => {
    const log = new FakeLog();
    const applied: unknown[] = [];
    const store = {
      append: async (records: unknown[]) => {
        applied.push(...records);
        return records.map((_, i) => result(i));
      },
    };
    const a = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, onApplied: () => undefined, onGap: () => undefined } as never);
    a.start();
    // A full window of ids, applied.
    for (let i = 1; i <= RECENT_IDS; i++) log.push(msg(i, `id-${i}`, append({ n: i })));
    await a.reached(RECENT_IDS);
    const L = RECENT_IDS;
    // A checkpoint at L while three more messages arrive: a new id, a copy of id-2 stored again (within
    // the window: every daemon skips it), another new id.
    const { seq, recent } = await a.quiesce(async (at) => {
      log.push(msg(L + 1, 'x1', append({ n: 'x1' })), msg(L + 2, 'id-2', append({ n: 2 })), msg(L + 3, 'x2', append({ n: 'x2' })));
      await log.taken(L + 3);
      return { seq: at, recent: a.recentIds() };
    });
    expect(seq).toBe(L);
    await a.reached(L + 3);
    await a.close();
    const afterA = applied.slice(L);
    expect(afterA).toEqual([{ n: 'x1' }, { n: 'x2' }]);
    // The window at L: the last RECENT_IDS ids, id-1 .. id-L.
    expect(recent).toHaveLength(RECENT_IDS);
    // A daemon started from that checkpoint applies the messages after it as A did.
    const late: unknown[] = [];
    const b = new Applier({
      js: log.js(), jsm, stream: 'S', logger, after: seq, recent, onApplied: () => undefined, onGap: () => undefined,
      store: { append: async (records: unknown[]) => (late.push(...records), records.map((_, i) => result(i))) },
    } as never);
    b.start();
    await b.reached(L + 3);
    await b.close();
    expect(late).toEqual(afterA);
  });
});

describe('applier grouping', () => {
  it('a message with ids and one without, waiting together, are not stored in one call that drops the ids', async () => {
    const log = new FakeLog();
    let release!: () => void;
    const firstHeld = new Promise<void>((r) => (release = r));
    const calls: { records: unknown[]; id: unknown }[] = [];
    const store = {
      append: async (records: unknown[], opts: { id?: unknown }) => {
        calls.push({ records, id: opts.id });
        if (calls.length === 1) await firstHeld;
        return records.map((_, i) => result(i));
      },
    };
    const applier = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, onApplied: () => undefined, onGap: () => undefined } as never);
    applier.start();
    log.push(msg(1, 'm1', append({ x: 0 })));
    await log.taken(1);
    // m2 carries its events' ids (every daemon must store them: idempotency, same ids everywhere); m3 none.
    log.push(msg(2, 'm2', { k: 'append', r: [{ x: 1 }], i: ['ev-1'] }), msg(3, 'm3', append({ x: 2 })));
    await log.taken(3);
    release();
    await applier.reached(3);
    await applier.close();
    // Wherever m2's record went, its id went with it.
    const withM2 = calls.filter((c) => c.records.some((r) => (r as { x: number }).x === 1));
    expect(withM2).toHaveLength(1);
    expect(withM2[0]!.id).toEqual(expect.arrayContaining(['ev-1']));
  });
});

describe('checkpointer after a failure of this daemon only', () => {
  it('writes no shared checkpoint once a message failed here for a reason of this daemon only (its state differs from the log\'s)', async () => {
    const { Checkpointer } = await import('../../dist/src/server/replication/checkpointer.js');
    const log = new FakeLog();
    const store = {
      append: async (records: unknown[]) => records.map((_, i) => result(i)),
      // A clear whose worker died mid-call twice (a call is retried once): whether it cleared is unknown here; the other daemons cleared.
      clear: async () => {
        throw new RingstoreError('RS_ERR_WORKER', 'partition 0 worker exited (code 1)');
      },
      exportImages: async () => [new Uint8Array([1, 2, 3])],
    };
    const published: number[] = [];
    const checkpoints = {
      latest: async () => null,
      claim: async () => true,
      publish: async (fields: { seq: number }) => {
        published.push(fields.seq);
        return { bytes: 1, sizes: [3], chunks: [1] };
      },
    };
    const applier = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, onApplied: () => undefined, onGap: () => undefined } as never);
    const cp = new Checkpointer({ checkpoints, applier, store, every: 1, minIntervalMs: 0, claimMs: 30_000, sizing: 'S', logCreated: 'C', origin: 'o', newest: 0, logger } as never);
    applier.start();
    log.push(msg(1, 'm1', append({ x: 1 })), msg(2, 'm2', { k: 'clear' }), msg(3, 'm3', append({ x: 3 })));
    await applier.reached(3);
    cp.start();
    // A checkpoint at 3 would be loaded by every daemon started later, this one restarted included
    // ("restart it to rebuild from the log" would rebuild it from its own bad state). The checkpointer
    // looks every 200 ms: one is written within the first look when it writes at all.
    for (let i = 0; i < 15 && published.length === 0; i++) await new Promise((r) => setTimeout(r, 200));
    await cp.close();
    await applier.close();
    expect(published).toEqual([]);
  });

  it('goes on writing checkpoints past a foreign record every daemon refuses alike (an error without a code, thrown by a selector)', async () => {
    const { Checkpointer } = await import('../../dist/src/server/replication/checkpointer.js');
    const log = new FakeLog();
    const store = {
      append: async (records: { d?: unknown }[]) => {
        if (records.some((r) => r.d === undefined)) throw new TypeError("Cannot read properties of undefined (reading 'type')");
        return records.map((_, i) => result(i));
      },
      exportImages: async () => [new Uint8Array([1, 2, 3])],
    };
    const published: number[] = [];
    const checkpoints = {
      latest: async () => null,
      claim: async () => true,
      publish: async (fields: { seq: number }) => {
        published.push(fields.seq);
        return { bytes: 1, sizes: [3], chunks: [1] };
      },
    };
    const applier = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, onApplied: () => undefined, onGap: () => undefined } as never);
    const cp = new Checkpointer({ checkpoints, applier, store, every: 1, minIntervalMs: 0, claimMs: 30_000, sizing: 'S', logCreated: 'C', origin: 'o', newest: 0, logger } as never);
    applier.start();
    log.push(msg(1, 'm1', append({ d: {} })), msg(2, 'foreign', append({ t: 1 })), msg(3, 'm3', append({ d: {} })));
    await applier.reached(3);
    cp.start();
    while (published.length === 0) await new Promise((r) => setTimeout(r, 50));
    await cp.close();
    await applier.close();
    expect(published).toEqual([3]);
  });
});
