/** The numeric fast path: MetricStore.add and range sums against arrays of objects and typed-array columns. */
import { MetricStore } from '../../../src/index.js';
import { keep, now } from '../peers.js';
import type { Case, Scenario } from '../types.js';

const T0 = Date.UTC(2025, 0, 1);
const PUSH = 'floor: array.push({ key, value, ts })';

export const metricScenario: Scenario = {
  name: 'metric',
  title: 'MetricStore (numeric fast path)',
  description:
    'MetricStore.add(key, value, ts) over 1024 keys into a store that wraps, against pushing {key, value, ts} objects into an array, a plain-array ring of such objects ' +
    'and bare Float64Array column writes; then a range sum over a full store against a for-loop over the same samples as objects.',
  reference: PUSH,
  default: true,
  params: {
    events: { default: 2_000_000, help: 'adds per round and case' },
    keys: { default: 1024, help: 'distinct keys (a power of two)' },
    capacity: { default: 1_000_000, help: 'samples kept (scans cover all of them)' },
  },
  cases(ctx) {
    const n = Number(ctx.params.events);
    const nKeys = Number(ctx.params.keys);
    const cap = Number(ctx.params.capacity);
    if ((nKeys & (nKeys - 1)) !== 0) throw new RangeError('--keys must be a power of two');
    const mask = nKeys - 1;
    const keys = Array.from({ length: nKeys }, (_, i) => `sensor-${i}`);
    const store = MetricStore.create({ capacity: cap });
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
      {
        name: 'MetricStore.add(key, value, ts)', role: 'subject',
        run() {
          const t = now();
          for (let i = 0; i < n; i++) store.add(keys[i & mask], i, T0 + i);
          return { ops: n, ms: now() - t, sharedBytes: cap * 20 };
        },
      },
      {
        name: `MetricStore.sum({ from, to }) over ${cap} samples`, role: 'subject', op: 'events scanned', vs: 'floor: for-loop over the same samples as objects',
        run() {
          const t = now();
          for (let i = 0; i < q; i++) keep(scanned.sum({ from, to }));
          return { ops: q * cap, ms: now() - t };
        },
      },
      {
        name: `MetricStore.sum(key, { from, to }) over ${cap} samples`, role: 'subject', op: 'events scanned', vs: 'floor: for-loop over the same samples as objects',
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
      {
        name: PUSH, role: 'floor',
        run() {
          const t = now();
          const out: { key: string; value: number; ts: number }[] = [];
          for (let i = 0; i < n; i++) out.push({ key: keys[i & mask], value: i, ts: T0 + i });
          keep(out.length);
          return { ops: n, ms: now() - t };
        },
      },
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
        name: 'floor: for-loop over the same samples as objects', role: 'floor', op: 'events scanned',
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
