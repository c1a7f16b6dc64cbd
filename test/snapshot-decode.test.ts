/**
 * Pins what snapshot() and events() decode, field by field, against what
 * append() reported and what was appended: ids (caller and generated),
 * unicode in keys, types, ids and payloads, payloads up to tens of KiB,
 * filtered results whose events are far apart in the arena, and slots and
 * arena that wrapped. The packed transfer copies the arena in runs, so these
 * are the cases where an offset could slip.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore, type AppendResult, type StoredEvent } from '../dist/src/index.js';

interface Ev {
  type: string;
  who: string;
  amount: number;
  ts: number;
  text: string;
}

const stores: EventStore<Ev>[] = [];
function make(options: Partial<Parameters<typeof EventStore.create<Ev>>[0]> = {}): EventStore<Ev> {
  const s = EventStore.create<Ev>({ capacity: 256, partitions: 2, key: 'who', timestamp: 'ts', values: { amount: 'amount', len: (e) => e.text.length }, ...options });
  stores.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

const WHO = ['ana', 'bjørn', '李雷', 'zoë-🦊', 'k'];
const TYPES = ['deposit', 'dépôt', '入金', ''];
const TEXTS = ['', 'plain', 'naïve café', '🦊🐻‍❄️ emoji', '"quotes" and \\ backslash\n', 'x'.repeat(20_000), '€'.repeat(3000)];

function event(i: number): Ev {
  return { type: TYPES[i % TYPES.length], who: WHO[i % WHO.length], amount: i * 1.5 - 7, ts: 1_000_000 + i, text: TEXTS[(i * 7) % TEXTS.length] };
}

interface Expected {
  ev: Ev;
  res: AppendResult;
}

/** Appends events one call at a time (every third with a caller id, some non-ASCII); returns what append() reported. */
async function fill(store: EventStore<Ev>, from: number, n: number): Promise<Expected[]> {
  const out: Expected[] = [];
  for (let i = from; i < from + n; i++) {
    const ev = event(i);
    const res = await store.append(ev, i % 3 === 0 ? { id: `id-${i}-ü` } : {});
    out.push({ ev, res });
  }
  return out;
}

/** Every field of a decoded event against the appended event and its AppendResult. */
function check(got: StoredEvent<Ev>, want: Expected): void {
  expect(got.id).toBe(want.res.id);
  expect(got.key).toBe(want.ev.who);
  expect(got.type).toBe(want.ev.type);
  expect(got.timestamp).toBe(want.ev.ts);
  expect(got.partition).toBe(want.res.partition);
  expect(got.position).toBe(want.res.position);
  expect(got.version).toBe(want.res.version);
  expect(got.values).toEqual({ amount: want.ev.amount, len: want.ev.text.length });
  expect(got.payload).toEqual(want.ev);
  expect(JSON.parse(JSON.stringify(got))).toEqual({
    id: want.res.id, key: want.ev.who, type: want.ev.type, timestamp: want.ev.ts, partition: want.res.partition,
    position: want.res.position, version: want.res.version, values: { amount: want.ev.amount, len: want.ev.text.length }, payload: want.ev,
  });
}

/** The store's order: timestamp, then partition, then position. */
function ordered(xs: Expected[]): Expected[] {
  return [...xs].sort((a, b) => a.ev.ts - b.ev.ts || a.res.partition - b.res.partition || a.res.position - b.res.position);
}

describe('snapshot decode', () => {
  it('decodes every field of every event: unicode, caller and generated ids, large payloads', async () => {
    const store = make({ payloadBytes: 4 << 20 });
    const want = ordered(await fill(store, 0, 120));
    const got = await store.snapshot();
    expect(got).toHaveLength(want.length);
    got.forEach((e, i) => check(e, want[i]));
    const streamed: StoredEvent<Ev>[] = [];
    for await (const e of store.events()) streamed.push(e);
    expect(streamed).toHaveLength(want.length);
    streamed.forEach((e, i) => check(e, want[i]));
  });

  it('decodes filtered results whose events are far apart in the arena (key, value, limit)', async () => {
    const store = make({ payloadBytes: 4 << 20 });
    const all = ordered(await fill(store, 0, 150));
    const byKey = await store.snapshot({ keys: ['李雷'] });
    const wantKey = all.filter((x) => x.ev.who === '李雷');
    expect(byKey).toHaveLength(wantKey.length);
    byKey.forEach((e, i) => check(e, wantKey[i]));
    const byValue = await store.snapshot({ where: { values: { len: { gt: 100 } } } });
    const wantValue = all.filter((x) => x.ev.text.length > 100);
    expect(byValue).toHaveLength(wantValue.length);
    byValue.forEach((e, i) => check(e, wantValue[i]));
    // Every other event of one partition: neighbours in the arena with small gaps between them.
    const odd = await store.snapshot({ where: { values: { amount: { gt: 0 } } }, filter: (e) => e.position % 2 === 1 });
    const wantOdd = all.filter((x) => x.ev.amount > 0 && x.res.position % 2 === 1);
    expect(odd).toHaveLength(wantOdd.length);
    odd.forEach((e, i) => check(e, wantOdd[i]));
    const limited = await store.snapshot({ limit: 7 });
    expect(limited).toHaveLength(7);
    limited.forEach((e, i) => check(e, all[i]));
  });

  it('decodes after the slots and the arena wrapped, at capacity - 1, capacity and capacity + 1 events', async () => {
    for (const extra of [-1, 0, 1, 37]) {
      // 16 slots per partition and an arena of a few large events: both wrap, and events skip to the arena start.
      const store = make({ capacity: 32, partitions: 2, payloadBytes: 2 * 64 * 1024 });
      const appended = await fill(store, 0, 64 + extra);
      const live = new Set((await store.snapshot()).map((e) => e.id));
      const want = ordered(appended.filter((x) => live.has(x.res.id)));
      expect(want.length).toBe(store.stats.live);
      // Whatever was evicted, the newest event of each partition is live.
      for (const p of [0, 1]) {
        const last = appended.filter((x) => x.res.partition === p).at(-1);
        if (last !== undefined) expect(live.has(last.res.id)).toBe(true);
      }
      const got = await store.snapshot();
      got.forEach((e, i) => check(e, want[i]));
      await store.close();
    }
  });

  it('decodes tiny events picked every other one (gaps inside a copied run) and every fourth (runs split)', async () => {
    const store = EventStore.create<number>({ capacity: 4096, partitions: 1, key: (e) => String(e % 4), values: { v: (e) => e } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 1000; i++) ids.push((await store.append(i, { id: `${i}` })).id);
      for (const keys of [['0', '2'], ['3'], ['0', '1', '2', '3']]) {
        const got = await store.snapshot({ keys });
        const want = [...Array(1000).keys()].filter((i) => keys.includes(String(i % 4)));
        expect(got.map((e) => e.payload)).toEqual(want);
        expect(got.map((e) => e.id)).toEqual(want.map((i) => ids[i]));
        expect(got.map((e) => e.values.v)).toEqual(want);
        expect(got.map((e) => e.key)).toEqual(want.map((i) => String(i % 4)));
        expect(got.map((e) => e.position)).toEqual(want.map((i) => i + 1));
      }
    } finally {
      await store.close();
    }
  });
  it('copied (no data filter) and packed (a data filter) transfers give the same events, timestamps out of order, wrapped', async () => {
    // A where that matches everything sends packed events; no data filter sends copied slot columns (snapshot-copy.ts).
    const all = { where: { values: { amount: { gte: -1e9 } } } };
    for (const extra of [-1, 0, 1, 37]) {
      const store = make({ capacity: 32, partitions: 2, payloadBytes: 2 * 64 * 1024 });
      try {
        const shuffled = (i: number): Ev => ({ ...event(i), ts: 1_000_000 + ((i * 7) % 13) });
        for (let i = 0; i < 64 + extra; i++) await store.append(shuffled(i), i % 3 === 0 ? { id: `id-${i}-ü` } : {});
        const json = (xs: StoredEvent<Ev>[]): string => JSON.stringify(xs);
        for (const q of [{}, { from: 1_000_003 }, { to: 1_000_008 }, { from: 1_000_002, to: 1_000_010 }, { limit: 5 }, { from: 1_000_004, limit: 3 }, { partitions: [1] }, { limit: 0 }]) {
          const copied = await store.snapshot(q);
          const packed = await store.snapshot({ ...q, ...all });
          expect(copied.length).toBeGreaterThan(q.limit === 0 ? -1 : 0);
          expect(json(copied)).toBe(json(packed));
          expect(copied.map((e) => [e.id, e.values])).toEqual(packed.map((e) => [e.id, e.values]));
          const streamed: StoredEvent<Ev>[] = [];
          for await (const e of store.events(q)) streamed.push(e);
          expect(json(streamed)).toBe(json(packed));
        }
      } finally {
        await store.close();
        stores.length = 0;
      }
    }
  });
  it('copied and packed transfers agree while the live bytes straddle the end of the arena', async () => {
    // Small events, plenty of slots, a 4 KiB arena: the arena wraps every ~35 events, so the oldest live
    // record sits near its end while the newest sit at its start (the copy is then two pieces).
    const store = make({ capacity: 4096, partitions: 1, payloadBytes: 4096, maxEventBytes: 512 });
    const all = { where: { values: { amount: { gte: -1e9 } } } };
    for (let i = 0; i < 200; i++) {
      await store.append({ ...event(i), text: 'é'.repeat(i % 23) }, i % 3 === 0 ? { id: `id-${i}-ü` } : {});
      const copied = await store.snapshot();
      const packed = await store.snapshot(all);
      expect(copied.length).toBeGreaterThan(0);
      expect(JSON.stringify(copied)).toBe(JSON.stringify(packed));
      expect(copied.at(-1)!.payload.amount).toBe(event(i).amount);
    }
    expect(store.stats.discarded).toBeGreaterThan(100);
  });
});
