// Property test of the EventStore query surface (docs/testing.md, "Queries"):
// a store of 1-3 partitions with a small capacity (evictions in most runs),
// two declared values, a timestamp selector with duplicate and out-of-order
// times (-0 included), multi-byte keys and types; random appends (append,
// batches, tryAppend + flush, conditional, with ids, placed in a partition)
// and purges; then every query form, with random combinations of every query
// option, against the plain model of test/queries-model.ts. `amount` takes
// exact values (any summation order gives the same sum); `big` takes huge and
// tiny values of one sign per run, or positive in partition 0 and negative in
// the others (sums overflow to ±Infinity, and a key placed in both sums to NaN;
// sums follow the order README.md states: by position, then by partition).
//
// QUERIES_RUNS (default 200, about 40 s here) and QUERIES_SEED replay a run; a failure prints its seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventStore, type Query, type StoredEvent } from '../dist/src/index.js';
import { FILTERS, QueryModel, VALUE_NAMES, aggregateOf, topOf, type Agg, type Ev, type ModelEvent, type Op, type QuerySpec, type ValueName } from './queries-model.js';

const RUNS = Number(process.env.QUERIES_RUNS ?? 200);
const SEED = process.env.QUERIES_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.QUERIES_SEED);

// '7' is asked for as the number 7; 'ｚ' (U+FF5A) sorts after '😀' (a surrogate pair) in code units, before it in code points.
const KEYS = ['a', 'é', '日本', '😀', 'ｚ', '7'];
const TYPES = ['dep', 'wd', 'ü'];
const TIMES = [-3, -0, 0, 1, 1, 2, 3, 5, 8, 9, 10, 11, 12.5, 20];
const AMOUNTS = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.constantFrom(-0, 0, 0.5, -2.5, 1e12));
const BIGS = [0, -0, 5e-324, 1e-300, 1, 2.5, 8e307, 1e308, Number.MAX_VALUE];
const OPS: Op[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'];

type Command =
  | { kind: 'append'; ev: Ev; partition?: number; id?: string; expected?: 'right' | 'wrong' }
  | { kind: 'batch'; evs: Ev[]; partition?: number }
  | { kind: 'try'; evs: { ev: Ev; id?: string; partition?: number }[] }
  | { kind: 'purge'; cutoff: number }
  | { kind: 'clear' };

const evArb = (sign: number): fc.Arbitrary<Ev> =>
  fc.record({
    k: fc.constantFrom(...KEYS),
    t: fc.constantFrom(...TYPES),
    ts: fc.constantFrom(...TIMES),
    amount: AMOUNTS,
    big: fc.constantFrom(...BIGS).map((x) => (sign === 0 ? x : sign * x)), // sign 0: made signed by partition in run()
    pad: fc.constantFrom('', 'ß', '日本語'),
  });

const commandArb = (sign: number, partitions: number): fc.Arbitrary<Command> => {
  const part = fc.option(fc.nat(partitions - 1), { nil: undefined, freq: 4 });
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant<'append'>('append'), ev: evArb(sign), partition: part, id: fc.option(fc.constant('x'), { nil: undefined }), expected: fc.option(fc.constantFrom<'right' | 'wrong'>('right', 'wrong'), { nil: undefined }) }, { requiredKeys: ['kind', 'ev'] }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant<'batch'>('batch'), evs: fc.array(evArb(sign), { minLength: 1, maxLength: 6 }), partition: part }, { requiredKeys: ['kind', 'evs'] }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant<'try'>('try'), evs: fc.array(fc.record({ ev: evArb(sign), id: fc.option(fc.constant('x'), { nil: undefined }), partition: part }, { requiredKeys: ['ev'] }), { minLength: 1, maxLength: 8 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant<'purge'>('purge'), cutoff: fc.constantFrom(-1, 0, 1, 4, 10.5) }) },
    { weight: 1, arbitrary: fc.constant<Command>({ kind: 'clear' }) },
  );
};

const operand = fc.oneof(fc.constantFrom(...TIMES), fc.constantFrom(...BIGS), fc.constantFrom(...BIGS).map((x) => -x));
const cmpArb = fc.dictionary(fc.constantFrom(...OPS), operand, { minKeys: 1, maxKeys: 2 });

const queryArb = (partitions: number): fc.Arbitrary<QuerySpec> =>
  fc.record(
    {
      from: fc.constantFrom(...TIMES, -Infinity, 4.5),
      to: fc.constantFrom(...TIMES, Infinity, 4.5),
      keys: fc.array(fc.constantFrom<string | number>(...KEYS, 7, 'nope'), { maxLength: 3 }),
      fromVersion: fc.integer({ min: -1, max: 4 }),
      toVersion: fc.integer({ min: 0, max: 5 }),
      partitions: fc.array(fc.nat(partitions - 1), { maxLength: 4 }),
      where: fc.record(
        {
          type: fc.oneof(fc.constantFrom(...TYPES, 'none'), fc.array(fc.constantFrom(...TYPES, 'none'), { maxLength: 2 })),
          values: fc.record({ amount: cmpArb, big: cmpArb }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
      filter: fc.constantFrom(...(Object.keys(FILTERS) as (keyof typeof FILTERS)[])),
      limit: fc.constantFrom(0, 1, 2, 5),
    },
    { requiredKeys: [] },
  );

const scenarioArb = fc
  .record({ partitions: fc.integer({ min: 1, max: 3 }), perPartition: fc.oneof(fc.integer({ min: 2, max: 8 }), fc.constantFrom(16, 24)), sign: fc.constantFrom(1, -1, 0), bucketMs: fc.constantFrom(1, 2, 5), buckets: fc.integer({ min: 1, max: 4 }) })
  .chain((s) =>
    fc.record({
      ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, fc.constant(v)])),
      commands: fc.array(commandArb(s.sign, s.partitions), { minLength: 1, maxLength: 25 }),
      queries: fc.array(queryArb(s.partitions), { minLength: 1, maxLength: 12 }),
    }) as fc.Arbitrary<typeof s & { commands: Command[]; queries: QuerySpec[] }>,
  );

/** What a stored event must show: its place, key, version, values and payload (id when the model knows it). */
const row = (e: { partition: number; position: number; key: string; type: string; timestamp: number; version: number; values: Record<string, number>; payload: unknown; id: string }, known: string | null | undefined) => ({
  at: `${e.partition}:${e.position}`, key: e.key, type: e.type, ts: e.timestamp, version: e.version,
  amount: e.values.amount, big: e.values.big, payload: e.payload, id: known === null ? null : e.id,
});
const modelRow = (e: ModelEvent) => ({
  at: `${e.partition}:${e.position}`, key: e.payload.k, type: e.payload.t, ts: e.payload.ts, version: e.version,
  amount: e.payload.amount, big: e.payload.big, payload: JSON.parse(JSON.stringify(e.payload)) as Ev, id: e.id, // payloads are stored as JSON: -0 comes back 0
});

/** Numbers equal as Object.is (so -0 and 0 differ), in any structure toEqual compares. */
const same = (actual: unknown, expected: unknown, what: string): void => {
  const norm = (x: unknown): unknown =>
    typeof x === 'number' ? (Object.is(x, -0) ? '-0' : x) : Array.isArray(x) ? x.map(norm) : x instanceof Map ? [...x].map(norm) : x !== null && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)])) : x;
  expect(norm(actual), what).toEqual(norm(expected));
};

const toQuery = (q: QuerySpec): Query<Ev, ValueName> => {
  const { filter, ...rest } = q;
  return filter === undefined ? rest : { ...rest, filter: FILTERS[filter] as (e: StoredEvent<Ev>) => boolean };
};

async function run(s: { partitions: number; perPartition: number; sign: number; bucketMs: number; buckets: number; commands: Command[]; queries: QuerySpec[] }): Promise<void> {
  const store = EventStore.create<Ev, ValueName>({
    partitions: s.partitions,
    capacity: s.partitions * s.perPartition,
    payloadBytes: s.partitions * s.perPartition * 4096, // slots, not bytes, evict here
    dormantKeys: 1000, // versions of keys whose events were evicted are kept
    key: 'k',
    type: 't',
    timestamp: 'ts',
    values: { amount: 'amount', big: 'big' },
    window: { sizeMs: s.bucketMs * s.buckets, bucketMs: s.bucketMs },
  });
  const model = new QueryModel(s.partitions, s.perPartition, { bucketMs: s.bucketMs, buckets: s.buckets });
  let ids = 0;
  const route = (ev: Ev, partition: number | undefined): number => partition ?? store.partitionOf(ev.k);
  // Sign 0: big is positive in partition 0 and negative in the others.
  const signed = (ev: Ev, partition: number | undefined): Ev => {
    if (s.sign !== 0) return ev;
    const big = Math.abs(ev.big);
    return { ...ev, big: route(ev, partition) === 0 ? big : -big };
  };
  try {
    for (const c of s.commands) {
      if (c.kind === 'append') {
        c.ev = signed(c.ev, c.partition); // idempotent, so a shrunk command replays the same
        const p = route(c.ev, c.partition);
        const id = c.id === undefined ? undefined : `id-${ids++}-日`;
        const v = model.version(p, c.ev.k);
        const expectedVersion = c.expected === undefined ? undefined : c.expected === 'right' ? v : v + 1;
        const opts = { ...(c.partition !== undefined ? { partition: c.partition } : {}), ...(id !== undefined ? { id } : {}), ...(expectedVersion !== undefined ? { expectedVersion } : {}) };
        if (c.expected === 'wrong') {
          await expect(store.append(c.ev, opts)).rejects.toMatchObject({ code: 'RS_ERR_CONFLICT' });
          continue;
        }
        const r = await store.append(c.ev, opts);
        const m = model.commit(p, c.ev, r.id);
        expect(r, 'append result').toMatchObject({ partition: p, position: m.position, version: m.version, duplicate: false });
        if (id !== undefined) expect(r.id).toBe(id);
      } else if (c.kind === 'batch') {
        c.evs = c.evs.map((ev) => signed(ev, c.partition));
        const rs = await store.append(c.evs, c.partition !== undefined ? { partition: c.partition } : {});
        c.evs.forEach((ev, i) => {
          const m = model.commit(route(ev, c.partition), ev, rs[i].id);
          expect(rs[i], 'batch result').toMatchObject({ partition: m.partition, position: m.position, version: m.version });
        });
      } else if (c.kind === 'try') {
        for (const t of c.evs) {
          t.ev = signed(t.ev, t.partition);
          const id = t.id === undefined ? undefined : `id-${ids++}-日`;
          const ok = store.tryAppend(t.ev, { ...(t.partition !== undefined ? { partition: t.partition } : {}), ...(id !== undefined ? { id } : {}) });
          if (ok) model.commit(route(t.ev, t.partition), t.ev, id ?? null);
        }
        await store.flush();
      } else if (c.kind === 'purge') {
        expect(await store.purge({ olderThan: c.cutoff }), `purge ${c.cutoff}`).toBe(model.purge(c.cutoff));
      } else {
        expect(await store.clear()).toBe(model.clear());
      }
    }
    for (const spec of [{}, { filter: 'all' as const }, ...s.queries]) await checkQuery(store, model, spec);
    await checkWindow(store, model);
    const reader = store.reader();
    try {
      for (const range of [{}, { from: 0 }, { to: -0 }, { from: 1, to: 10 }, { from: 4.5, to: 4.5 }]) {
        const want = model.matching(range).map(modelRow);
        same(reader.snapshot(range).map((e, i) => row(e, want[i]?.id)), want, `reader.snapshot(${JSON.stringify(range)})`);
      }
    } finally {
      reader.close();
    }
  } finally {
    await store.close();
  }
}

async function checkQuery(store: EventStore<Ev, ValueName>, model: QueryModel, spec: QuerySpec): Promise<void> {
  const q = toQuery(spec);
  const what = (f: string): string => `${f}(${JSON.stringify(spec)})`;
  const limited = model.limited(spec).map(modelRow);
  same((await store.snapshot(q)).map((e, i) => row(e, limited[i]?.id)), limited, what('snapshot'));
  const streamed: ReturnType<typeof row>[] = [];
  for await (const e of store.events(q)) streamed.push(row(e, limited[streamed.length]?.id));
  same(streamed, limited, what('events'));
  same(await store.aggregate<string[]>([], (acc, e) => [...acc, `${e.partition}:${e.position}`], q), limited.map((r) => r.at), what('aggregate'));
  const matching = model.matching(spec);
  same(await store.count(q), matching.length, what('count'));
  for (const v of VALUE_NAMES) {
    const want = aggregateOf(matching, v);
    same(await store.sum(v, q), want.sum, what(`sum ${v}`));
    same(await store.average(v, q), want.avg, what(`average ${v}`));
    same(await store.min(v, q), want.min, what(`min ${v}`));
    same(await store.max(v, q), want.max, what(`max ${v}`));
    const groups = model.groupBy(v, spec);
    same(sorted(await store.groupBy(v, q)), sorted(groups), what(`groupBy ${v}`));
    const sums = new Map([...groups].map(([k, g]) => [k, g.sum]));
    for (const k of [0, 1, 3, 10]) same(await store.top(k, v, q), topOf(sums, k), what(`top ${k} ${v}`));
  }
}

const sorted = (m: Map<string, Agg>): [string, Agg][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

async function checkWindow(store: EventStore<Ev, ValueName>, model: QueryModel): Promise<void> {
  for (const range of [{}, { from: 0 }, { to: 5 }, { from: -0, to: 9 }, { from: 12.5, to: 20 }]) {
    for (const v of VALUE_NAMES) same(await store.windowAggregate(v, range), model.windowAggregate(v, range), `windowAggregate ${v} ${JSON.stringify(range)}`);
  }
}

describe('queries: every query form and option against a plain model', () => {
  it(`matches the model (QUERIES_SEED=${SEED} QUERIES_RUNS=${RUNS})`, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), { seed: SEED, numRuns: RUNS, endOnFailure: false });
  }, 600_000);
});
