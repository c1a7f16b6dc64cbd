/**
 * Benchmark of the numeric fast path `MetricStore` (issue 2):
 * - `add`, one producer, against pushing `{ key, value, ts }` objects into a
 *   JS array, measured in the same run (target: >= 30M events/s and >= 10x);
 * - a 10M-event scan (sum over a time range), against the same scan over an
 *   array of objects.
 *
 * Every figure is the median of several rounds; store and peer alternate
 * inside each round so machine noise hits both alike.
 *
 * Run: `npx tsc -p tsconfig.json && node dist/bench/metric-store.js`
 * (options: `--events N --rounds N --scan N`).
 */
import { pathToFileURL } from 'node:url';
import { MetricStore } from '../src/store/metric-store.js';

/** One row of the result table. */
export interface BenchRow {
  name: string;
  /** Median operations (events) per second. */
  opsPerSec: number;
  /** What `ratio` compares against, with its own median rate. */
  baseline: string;
  /** `opsPerSec / baseline rate`. */
  ratio: number;
}

/** Options of {@link benchMetricStore}. */
export interface BenchMetricStoreOptions {
  /** Adds per round (default 5,000,000). */
  events?: number;
  /** Rounds; the median is reported (default 7). */
  rounds?: number;
  /** Samples in the scan benchmark (default 10,000,000). */
  scanEvents?: number;
  /** Store capacity for the add benchmarks (default 1,000,000: it wraps). */
  capacity?: number;
  /** Distinct keys (default 1024, a power of two). */
  keys?: number;
}

/** The floor for `MetricStore.add`, events/s. */
export const ADD_TARGET = 30e6;
/** The floor for `MetricStore.add` over the array peer. */
export const ADD_RATIO_TARGET = 10;

const T0 = Date.UTC(2025, 0, 1);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function rate(n: number, fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  const ns = Number(process.hrtime.bigint() - t);
  return (n * 1e9) / ns;
}

/** Keeps results alive so that no loop is dead code. */
let sink = 0;

function pushObjects(keys: string[], n: number, now: boolean): unknown[] {
  const mask = keys.length - 1;
  const out: { key: string; value: number; ts: number }[] = [];
  for (let i = 0; i < n; i++) out.push({ key: keys[i & mask], value: i, ts: now ? Date.now() : T0 + i });
  return out;
}

function addLoop(store: MetricStore, keys: string[], n: number): void {
  const mask = keys.length - 1;
  for (let i = 0; i < n; i++) store.add(keys[i & mask], i, T0 + i);
}

function addNowLoop(store: MetricStore, keys: string[], n: number): void {
  const mask = keys.length - 1;
  for (let i = 0; i < n; i++) store.add(keys[i & mask], i);
}

function addByIdLoop(store: MetricStore, ids: Int32Array, n: number): void {
  const mask = ids.length - 1;
  for (let i = 0; i < n; i++) store.addById(ids[i & mask], i, T0 + i);
}

function addManyLoop(store: MetricStore, keys: string[], n: number): void {
  const batch = keys.length;
  const values = new Float64Array(batch);
  const times = new Float64Array(batch);
  for (let i = 0; i < n; i += batch) {
    for (let j = 0; j < batch; j++) {
      values[j] = i + j;
      times[j] = T0 + i + j;
    }
    store.addMany(keys, values, times);
  }
}

function scanObjects(objs: { key: string; value: number; ts: number }[], from: number, to: number): number {
  let sum = 0;
  for (let i = 0; i < objs.length; i++) {
    const o = objs[i];
    if (o.ts >= from && o.ts <= to) sum += o.value;
  }
  return sum;
}

/**
 * Runs the MetricStore benchmarks and returns one row per figure. Prints
 * nothing (the standalone entry point prints the table).
 */
export async function benchMetricStore(opts: BenchMetricStoreOptions = {}): Promise<BenchRow[]> {
  const events = opts.events ?? 5_000_000;
  const rounds = opts.rounds ?? 7;
  const scanEvents = opts.scanEvents ?? 10_000_000;
  const capacity = opts.capacity ?? 1_000_000;
  const nKeys = opts.keys ?? 1024;
  if ((nKeys & (nKeys - 1)) !== 0) throw new RangeError('keys must be a power of two');
  const keys = Array.from({ length: nKeys }, (_, i) => `sensor-${i}`);

  const store = MetricStore.create({ capacity });
  const ids = Int32Array.from(keys, (k) => store.keyId(k));
  const r = { push: [] as number[], pushNow: [] as number[], add: [] as number[], addNow: [] as number[], byId: [] as number[], many: [] as number[] };
  // Warm-up so every loop is optimised before it is timed.
  addLoop(store, keys, 200_000);
  addNowLoop(store, keys, 200_000);
  addByIdLoop(store, ids, 200_000);
  addManyLoop(store, keys, 200_000);
  sink += pushObjects(keys, 200_000, false).length + pushObjects(keys, 200_000, true).length;
  for (let round = 0; round < rounds; round++) {
    r.push.push(rate(events, () => void (sink += pushObjects(keys, events, false).length)));
    r.add.push(rate(events, () => addLoop(store, keys, events)));
    r.byId.push(rate(events, () => addByIdLoop(store, ids, events)));
    r.many.push(rate(events, () => addManyLoop(store, keys, events)));
    r.pushNow.push(rate(events, () => void (sink += pushObjects(keys, events, true).length)));
    r.addNow.push(rate(events, () => addNowLoop(store, keys, events)));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const push = median(r.push);
  const pushNow = median(r.pushNow);
  const pushName = `array.push({key,value,ts}) ${fmt(push)}/s`;
  const rows: BenchRow[] = [
    { name: 'MetricStore.add(key, value, ts)', opsPerSec: median(r.add), baseline: pushName, ratio: median(r.add) / push },
    { name: 'MetricStore.addById(id, value, ts)', opsPerSec: median(r.byId), baseline: pushName, ratio: median(r.byId) / push },
    { name: `MetricStore.addMany (batches of ${nKeys})`, opsPerSec: median(r.many), baseline: pushName, ratio: median(r.many) / push },
    {
      name: 'MetricStore.add(key, value) [Date.now()]',
      opsPerSec: median(r.addNow),
      baseline: `array.push({key,value,ts:Date.now()}) ${fmt(pushNow)}/s`,
      ratio: median(r.addNow) / pushNow,
    },
  ];

  // Scan: a full store of scanEvents samples, sum over the middle half.
  const big = MetricStore.create({ capacity: scanEvents });
  const objs: { key: string; value: number; ts: number }[] = new Array(scanEvents);
  for (let i = 0; i < scanEvents; i++) {
    const key = keys[i & (nKeys - 1)];
    big.add(key, i, T0 + i);
    objs[i] = { key, value: i, ts: T0 + i };
  }
  const from = T0 + scanEvents / 4;
  const to = T0 + (3 * scanEvents) / 4;
  const s = { store: [] as number[], key: [] as number[], objs: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    s.store.push(rate(scanEvents, () => void (sink += big.sum({ from, to }))));
    s.key.push(rate(scanEvents, () => void (sink += big.sum(keys[1], { from, to }))));
    s.objs.push(rate(scanEvents, () => void (sink += scanObjects(objs, from, to))));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const objRate = median(s.objs);
  const objName = `for-loop over ${fmt(scanEvents)} objects ${fmt(objRate)}/s`;
  rows.push(
    { name: `MetricStore.sum({from,to}) scan of ${fmt(scanEvents)}`, opsPerSec: median(s.store), baseline: objName, ratio: median(s.store) / objRate },
    { name: `MetricStore.sum(key,{from,to}) scan of ${fmt(scanEvents)}`, opsPerSec: median(s.key), baseline: objName, ratio: median(s.key) / objRate },
  );
  if (sink === 0.5) process.stdout.write('');
  return rows;
}

function fmt(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

async function main(): Promise<void> {
  const rows = await benchMetricStore({
    events: argValue('--events'),
    rounds: argValue('--rounds'),
    scanEvents: argValue('--scan'),
  });
  const addRow = rows[0];
  console.log(`node ${process.version}, ${process.platform}/${process.arch}, median of rounds`);
  console.table(
    rows.map((row) => ({
      benchmark: row.name,
      'events/s': fmt(row.opsPerSec),
      baseline: row.baseline,
      ratio: `${row.ratio.toFixed(1)}x`,
    })),
  );
  const okRate = addRow.opsPerSec >= ADD_TARGET;
  const okRatio = addRow.ratio >= ADD_RATIO_TARGET;
  console.log(
    `target add >= ${fmt(ADD_TARGET)}/s: ${okRate ? 'met' : 'MISSED'} (${fmt(addRow.opsPerSec)}/s); ` +
      `>= ${ADD_RATIO_TARGET}x array push: ${okRatio ? 'met' : 'MISSED'} (${addRow.ratio.toFixed(1)}x)`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
