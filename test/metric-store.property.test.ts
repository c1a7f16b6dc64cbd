import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { codeOf } from './metric-store.helpers.js';
import { MetricStore } from '../dist/src/store/metric-store.js';
import { partitionOf } from '../dist/src/partition/hash.js';

/**
 * Brute-force model: per partition, the list of samples ever added since the
 * last clear, of which the live ones are the last `cap[p]`. Aggregates are
 * folded partition by partition, oldest first: the order the store uses, so
 * floating-point sums must match exactly.
 */
interface Sample {
  key: string;
  value: number;
  ts: number;
}

class Model {
  readonly parts: Sample[][];
  readonly caps: number[];

  constructor(
    capacity: number,
    readonly partitions: number,
  ) {
    this.parts = Array.from({ length: partitions }, () => []);
    const base = Math.floor(capacity / partitions);
    this.caps = Array.from({ length: partitions }, (_, p) => base + (p < capacity % partitions ? 1 : 0));
  }

  add(key: string, value: number, ts: number): void {
    this.parts[partitionOf(key, this.partitions)].push({ key, value, ts });
  }

  clear(): void {
    for (const part of this.parts) part.length = 0;
  }

  live(): Sample[] {
    return this.parts.flatMap((part, p) => part.slice(Math.max(0, part.length - this.caps[p])));
  }

  match(key: string | undefined, from: number, to: number): Sample[] {
    return this.live().filter((s) => (key === undefined || s.key === key) && s.ts >= from && s.ts <= to);
  }

  aggregate(key: string | undefined, from: number, to: number) {
    const m = this.match(key, from, to);
    let sum = 0;
    for (const s of m) sum += s.value;
    if (m.length === 0) return { count: 0, sum: 0, average: 0, min: null, max: null };
    return {
      count: m.length,
      sum,
      average: sum / m.length,
      // Same fold as the store: the first of equal values wins (0 vs -0).
      min: m.reduce((a, s) => (s.value < a ? s.value : a), Infinity),
      max: m.reduce((a, s) => (s.value > a ? s.value : a), -Infinity),
    };
  }

  top(k: number, from: number, to: number) {
    const sums = new Map<string, number>();
    for (const s of this.match(undefined, from, to)) sums.set(s.key, (sums.get(s.key) ?? 0) + s.value);
    const rows = [...sums].map(([key, value]) => ({ key, value }));
    rows.sort((a, b) => (a.value !== b.value ? b.value - a.value : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return rows.slice(0, k);
  }

  /** Keys with live samples, sorted by code unit. */
  keys(): string[] {
    return [...new Set(this.live().map((s) => s.key))].sort();
  }

  stats() {
    const perPartition = this.parts.map((part, p) => {
      const live = Math.min(part.length, this.caps[p]);
      return { appended: part.length, discarded: part.length - live, live, capacity: this.caps[p] };
    });
    const appended = perPartition.reduce((a, p) => a + p.appended, 0);
    const live = perPartition.reduce((a, p) => a + p.live, 0);
    return { appended, live, discarded: appended - live, perPartition };
  }
}

const keyArb = fc.constantFrom('a', 'b', 'c', 'k3', 'k4', 'k5', 'k6', 'k7', 'sensor-1', 'sensor-2', 'é', '__proto__', '0');
const tsArb = fc.integer({ min: 0, max: 40 });
const valueArb = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
);

type Cmd =
  | { kind: 'add'; key: string; value: number; ts: number }
  | { kind: 'many'; rows: { key: string; value: number; ts: number }[] }
  | { kind: 'clear' }
  | { kind: 'keyId'; key: string }
  | { kind: 'byId'; pick: number; value: number; ts: number }
  | { kind: 'release'; pick: number };

const rowArb = fc.record({ key: keyArb, value: valueArb, ts: tsArb });
/** `pick` chooses among the ids issued so far (or a made-up id when there are none). */
const pickArb = fc.nat({ max: 1000 });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 20, arbitrary: fc.record({ kind: fc.constant('add' as const), key: keyArb, value: valueArb, ts: tsArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('many' as const), rows: fc.array(rowArb, { maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('keyId' as const), key: keyArb }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('byId' as const), pick: pickArb, value: valueArb, ts: tsArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: pickArb }) },
);

const queryArb = fc.record({
  key: fc.option(keyArb, { nil: undefined }),
  from: fc.option(fc.integer({ min: -5, max: 45 }), { nil: undefined }),
  to: fc.option(fc.integer({ min: -5, max: 45 }), { nil: undefined }),
  k: fc.integer({ min: 0, max: 14 }),
});

/** Tiny stores: every run wraps, and `maxRememberedKeys` just above capacity makes sweeps frequent. */
const shapeArb = fc
  .record({ partitions: fc.integer({ min: 1, max: 4 }), extra: fc.integer({ min: 0, max: 6 }), slack: fc.integer({ min: 1, max: 4 }) })
  .map(({ partitions, extra, slack }) => ({ partitions, capacity: partitions + extra, maxRememberedKeys: partitions + extra + slack }));

/** Ids issued by keyId(): the current pin of each key, and every id ever issued with its key. */
class Pins {
  readonly current = new Map<string, number>();
  readonly issued = new Map<number, string>();
  readonly order: number[] = [];

  pick(n: number): number {
    return this.order.length === 0 ? n : this.order[n % this.order.length];
  }

  /** The key of `id` if it is a current pin. */
  keyOf(id: number): string | undefined {
    const key = this.issued.get(id);
    return key !== undefined && this.current.get(key) === id ? key : undefined;
  }
}


/** Applies one command to store and model, checking what the command itself returns. */
function step(store: MetricStore, model: Model, pins: Pins, cmd: Cmd): void {
  if (cmd.kind === 'add') {
    store.add(cmd.key, cmd.value, cmd.ts);
    model.add(cmd.key, cmd.value, cmd.ts);
  } else if (cmd.kind === 'many') {
    store.addMany(
      cmd.rows.map((r) => r.key),
      cmd.rows.map((r) => r.value),
      cmd.rows.map((r) => r.ts),
    );
    for (const r of cmd.rows) model.add(r.key, r.value, r.ts);
  } else if (cmd.kind === 'clear') {
    store.clear();
    model.clear();
  } else if (cmd.kind === 'keyId') {
    const id = store.keyId(cmd.key);
    const pinned = pins.current.get(cmd.key);
    if (pinned !== undefined) {
      expect(id).toBe(pinned);
    } else {
      // A fresh pin gets an id never issued before, to any key.
      expect(Number.isSafeInteger(id) && id >= 0).toBe(true);
      expect(pins.issued.has(id)).toBe(false);
      pins.current.set(cmd.key, id);
      pins.issued.set(id, cmd.key);
      pins.order.push(id);
    }
  } else if (cmd.kind === 'byId') {
    const id = pins.pick(cmd.pick);
    const key = pins.keyOf(id);
    expect(store.keyOf(id)).toBe(key);
    if (key === undefined) {
      const before = store.stats.appended;
      expect(codeOf(() => store.addById(id, cmd.value, cmd.ts))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(store.stats.appended).toBe(before);
    } else {
      store.addById(id, cmd.value, cmd.ts);
      model.add(key, cmd.value, cmd.ts);
    }
  } else {
    const id = pins.pick(cmd.pick);
    const key = pins.keyOf(id);
    expect(store.releaseKeyId(id)).toBe(key !== undefined);
    if (key !== undefined) pins.current.delete(key);
  }
}

describe('MetricStore against a brute-force model', () => {
  it('aggregates, top, keys, stats and key ids equal the model after every command', () => {
    fc.assert(
      fc.property(shapeArb, fc.array(fc.tuple(cmdArb, queryArb), { maxLength: 60, size: 'max' }), (shape, script) => {
        const { partitions, capacity, maxRememberedKeys } = shape;
        const store = MetricStore.create({ capacity, partitions, maxRememberedKeys });
        const model = new Model(capacity, partitions);
        const pins = new Pins();
        let mostPinned = 0;
        for (const [cmd, q] of script) {
          step(store, model, pins, cmd);
          mostPinned = Math.max(mostPinned, pins.current.size);
          const range = { from: q.from, to: q.to };
          const from = q.from ?? -Infinity;
          const to = q.to ?? Infinity;
          const expected = model.aggregate(q.key, from, to);
          expect(store.aggregate(q.key, range)).toEqual(expected);
          expect(store.count(q.key, range)).toBe(expected.count);
          expect(store.sum(q.key, range)).toBe(expected.sum);
          expect(store.average(q.key, range)).toBe(expected.average);
          expect(store.min(q.key, range)).toBe(expected.min);
          expect(store.max(q.key, range)).toBe(expected.max);
          expect(store.top(q.k, range)).toEqual(model.top(q.k, from, to));
          const keys = model.keys();
          expect(store.keys()).toEqual(keys);
          const stats = store.stats;
          expect(stats).toMatchObject(model.stats());
          expect(stats.appended).toBe(stats.live + stats.discarded);
          expect(stats.live).toBeLessThanOrEqual(capacity);
          // Memory follows the live keys: what is remembered is bounded, whatever was ever seen.
          expect(stats.keys).toBe(keys.length);
          expect(stats.pinnedKeys).toBe(pins.current.size);
          const mustRemember = new Set([...keys, ...pins.current.keys()]).size;
          expect(stats.rememberedKeys).toBeGreaterThanOrEqual(mustRemember);
          expect(stats.rememberedKeys).toBeLessThanOrEqual(maxRememberedKeys + stats.pinnedKeys);
          expect(stats.keyIdSpan).toBeLessThanOrEqual(maxRememberedKeys + mostPinned);
        }
      }),
      { numRuns: 400, seed: 20_251_125 },
    );
  });

  it('onDiscarded reports exactly the evicted samples, oldest first per partition', () => {
    fc.assert(
      fc.property(
        shapeArb,
        fc.array(fc.record({ key: keyArb, value: valueArb, ts: tsArb }), { maxLength: 60 }),
        ({ partitions, capacity }, rows) => {
          const evicted: Sample[][] = Array.from({ length: partitions }, () => []);
          const store = MetricStore.create({
            capacity,
            partitions,
            onDiscarded: (key, value, ts, p) => evicted[p].push({ key, value, ts }),
          });
          const model = new Model(capacity, partitions);
          for (const r of rows) {
            store.add(r.key, r.value, r.ts);
            model.add(r.key, r.value, r.ts);
          }
          model.parts.forEach((part, p) => {
            expect(evicted[p]).toEqual(part.slice(0, Math.max(0, part.length - model.caps[p])));
          });
          expect(evicted.flat().length).toBe(store.stats.discarded);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});
