/**
 * The numeric fast path: MetricStore.add (and its id, batch and clock forms)
 * and range sums, against arrays of objects and typed-array columns.
 */
import { MetricStore } from '../../../src/index.js';
import { UsageError } from '../args.js';
import { keep, now } from '../peers.js';
import type { Case, Scenario, Target } from '../types.js';

const T0 = Date.UTC(2025, 0, 1);
export const PUSH = 'floor: array.push({ key, value, ts })';
const PUSH_NOW = 'floor: array.push({ key, value, ts: Date.now() })';
const SCAN_FLOOR = 'floor: for-loop over the same samples as objects';

/** The targets for `add`, in the terms of the add row. */
export const ADD_TARGET: Target = {
  text: '>= 30M/s and >= 10x array.push',
  met: (c) => c.median >= 30e6 && c.ratio >= 10,
};

/** `sensor-0` ... `sensor-(n-1)`; `n` a power of two (the loops mask the index). */
export function sensorKeys(n: number): string[] {
  if (n < 1 || (n & (n - 1)) !== 0) throw new UsageError(`--keys must be a power of two, got ${n}`);
  return Array.from({ length: n }, (_, i) => `sensor-${i}`);
}

/** `MetricStore.add(key, value, ts)` over `keys`, into a store of `capacity` that wraps. */
export function metricAddCase(name: string, keys: readonly string[], n: number, capacity: number, vs = PUSH, target?: Target): Case {
  const store = MetricStore.create({ capacity });
  const mask = keys.length - 1;
  return {
    name, role: 'subject', vs, ...(target ? { target } : {}),
    run() {
      const t = now();
      for (let i = 0; i < n; i++) store.add(keys[i & mask], i, T0 + i);
      return { ops: n, ms: now() - t, sharedBytes: capacity * 20 };
    },
  };
}

/** Pushing `{ key, value, ts }` objects into a fresh array (all kept, as an array store would keep them). */
export function pushFloor(keys: readonly string[], n: number, name = PUSH, clock = false): Case {
  const mask = keys.length - 1;
  return {
    name, role: 'floor',
    run() {
      const t = now();
      const out: { key: string; value: number; ts: number }[] = [];
      for (let i = 0; i < n; i++) out.push({ key: keys[i & mask], value: i, ts: clock ? Date.now() : T0 + i });
      keep(out.length);
      return { ops: n, ms: now() - t };
    },
  };
}

export const metricScenario: Scenario = {
  name: 'metric',
  title: 'MetricStore (numeric fast path)',
  description:
    'MetricStore.add(key, value, ts) over 1024 keys into a store that wraps (and addById, addMany, add with Date.now()), against pushing {key, value, ts} objects into an array, ' +
    'a plain-array ring of such objects and bare Float64Array column writes; then range sums over a full store against a for-loop over the same samples as objects.',
  reference: PUSH,
  default: true,
  params: {
    events: { default: 2_000_000, help: 'adds per round and case' },
    keys: { default: 1024, help: 'distinct keys (a power of two)' },
    capacity: { default: 1_000_000, help: 'samples kept (scans cover all of them)' },
  },
  cases(ctx) {
    const n = Number(ctx.params.events);
    const cap = Number(ctx.params.capacity);
    const keys = sensorKeys(Number(ctx.params.keys));
    const mask = keys.length - 1;
    const store = MetricStore.create({ capacity: cap });
    const ids = Int32Array.from(keys, (k) => store.keyId(k));
    const scanned = MetricStore.create({ capacity: cap });
    const objs: { key: string; value: number; ts: number }[] = [];
    for (let i = 0; i < cap; i++) {
      scanned.add(keys[i & mask], i, T0 + i);
      objs.push({ key: keys[i & mask], value: i, ts: T0 + i });
    }
    const from = T0;
    const to = T0 + cap;
    const q = 5;
    const cases: Case[] = [
      metricAddCase('MetricStore.add(key, value, ts)', keys, n, cap, PUSH, ADD_TARGET),
      {
        name: 'MetricStore.addById(id, value, ts)', role: 'subject',
        run() {
          const t = now();
          for (let i = 0; i < n; i++) store.addById(ids[i & mask], i, T0 + i);
          return { ops: n, ms: now() - t };
        },
      },
      {
        name: `MetricStore.addMany(keys, values, timestamps), batches of ${keys.length}`, role: 'subject',
        run() {
          const values = new Float64Array(keys.length);
          const times = new Float64Array(keys.length);
          const t = now();
          let i = 0;
          for (; i < n; i += keys.length) {
            for (let j = 0; j < keys.length; j++) {
              values[j] = i + j;
              times[j] = T0 + i + j;
            }
            store.addMany(keys, values, times);
          }
          return { ops: i, ms: now() - t };
        },
      },
      {
        name: 'MetricStore.add(key, value) [Date.now()]', role: 'subject', vs: PUSH_NOW,
        run() {
          const t = now();
          for (let i = 0; i < n; i++) store.add(keys[i & mask], i);
          return { ops: n, ms: now() - t };
        },
      },
      {
        name: `MetricStore.sum({ from, to }) over ${cap} samples`, role: 'subject', op: 'events scanned', vs: SCAN_FLOOR,
        run() {
          const t = now();
          for (let i = 0; i < q; i++) keep(scanned.sum({ from, to }));
          return { ops: q * cap, ms: now() - t };
        },
      },
      {
        name: `MetricStore.sum(key, { from, to }) over ${cap} samples`, role: 'subject', op: 'events scanned', vs: SCAN_FLOOR,
        run() {
          const t = now();
          for (let i = 0; i < q; i++) keep(scanned.sum(keys[1], { from, to }));
          return { ops: q * cap, ms: now() - t };
        },
      },
    ];
    if (ctx.subjectsOnly) return cases;
    const ringObjs = new Array<{ key: string; value: number; ts: number } | undefined>(cap).fill(undefined);
    const colTs = new Float64Array(cap);
    const colV = new Float64Array(cap);
    return [
      ...cases,
      pushFloor(keys, n),
      pushFloor(keys, n, PUSH_NOW, true),
      {
        name: 'peer: plain-array ring of { key, value, ts }, drop-oldest', role: 'peer',
        run() {
          const t = now();
          let h = 0;
          for (let i = 0; i < n; i++) {
            ringObjs[h] = { key: keys[i & mask], value: i, ts: T0 + i };
            h = h + 1 === cap ? 0 : h + 1;
          }
          return { ops: n, ms: now() - t };
        },
      },
      {
        name: 'floor: Float64Array column ring writes (ts, value; no keys)', role: 'floor',
        run() {
          const t = now();
          let h = 0;
          for (let i = 0; i < n; i++) {
            colTs[h] = T0 + i;
            colV[h] = i;
            h = h + 1 === cap ? 0 : h + 1;
          }
          keep(colV[0]);
          return { ops: n, ms: now() - t };
        },
      },
      {
        name: SCAN_FLOOR, role: 'floor', op: 'events scanned',
        run() {
          const t = now();
          for (let k = 0; k < q; k++) {
            let s = 0;
            for (let i = 0; i < objs.length; i++) {
              const o = objs[i];
              if (o.ts >= from && o.ts <= to) s += o.value;
            }
            keep(s);
          }
          return { ops: q * cap, ms: now() - t };
        },
      },
    ];
  },
};
