// Filtered-scan A/B (docs/benchmarks/core.md, issue 15): queries on partition 0 of a store of N tiny events
// (default 4000000, 2 partitions), each against bare loops over the SAME values in the same order (partition 0's
// values and timestamps, read back once, copied into a plain ArrayBuffer), run in a plain worker thread:
//   gt50   sum(amount > 50), 50% kept (core row 4b)      floor: sum and count, v > 50 (core's floor loop)
//   lt10   sum(amount < 10), 10% kept (window row)       floor: sum, v < 10 (the window scenario's floor loop)
//   range  count({ from, to }), middle 80% of the times  floor: count, from <= t <= to
//   rpc    count() with no filter: the round trip alone   (no floor: shows the per-call overhead)
// gt50 and lt10 also have a second floor, `nb`: the same sum and count without a branch (hit = (v > 50) | 0;
// sum += v * hit; count += hit), the fastest bare loop found for a random match order (issue 15, fourth round).
// The floors run in a worker so that their CPU is read from /proc like the partition worker's, once the thread is
// idle again: a running thread's own schedstat lags by up to a scheduler tick (4 ms here), which made the main
// thread's floor CPU of earlier versions of this script off by up to 30% per round.
// Each round runs every case CALLS times per build (builds alternate which goes first) and every floor CALLS times;
// wall time per call and CPU per call (/proc, by thread name) are kept per round.
// Prints per case and build the median wall ms per call, the median per-round ratio floor/subject (wall; >= 0.8 is
// the target) and worker CPU ms per call against the floor's.
//   npm run build && DIST=/work/wt-scan-base/dist,$PWD/dist node bench/ab/scan-cpu.mjs 4000000 [rounds] [calls]
// DIST: one or more builds' dist directories, comma-separated (default: this checkout's); several run in ONE process.
import { cpuOf } from './cpu-by-name.mjs';
import { Worker } from 'node:worker_threads';
import { makeTinyEvents } from '../../dist/bench/harness/events.js';

const N = Number(process.argv[2] ?? 4000000);
const ROUNDS = Number(process.argv[3] ?? 7);
const CALLS = Number(process.argv[4] ?? 5);
const dists = (process.env.DIST ?? new URL('../../dist', import.meta.url).pathname).split(',');
const pool = makeTinyEvents(1 << 16, 2);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const builds = [];
for (const [k, dist] of dists.entries()) {
  const { EventStore } = await import(dist + '/src/index.js');
  let appended = 0; // the same timestamps in every build's store: 64 events per ms from a fixed start
  const store = EventStore.create({ name: `ab${k}`, timestamp: () => 1.8e12 + (appended >> 6), capacity: N, partitions: 2, payloadBytes: N * 56, key: 'u', values: { amount: 'a' }, window: { sizeMs: 600_000, bucketMs: 1000 } });
  // appendLoop's retries would call the selector again: count accepted appends only.
  for (; appended < N; appended++) while (!store.tryAppend(pool[appended & 65535])) await new Promise((r) => setImmediate(r));
  await store.flush();
  builds.push({ name: dist.replace(/\/dist\/?$/, '').split('/').pop(), store, worker: new RegExp(`^rs-ab${k}-p0$`) });
}
// Partition 0's values and times, in slot order, read from its shared memory: its positions start at slot 0 and
// do not wrap (capacity N over 2 partitions). Not through snapshot(): a store whose worker had served a 2M-event
// snapshot ran every scan, `range` included, 1.3-1.5x slower than the other store (issue 15, fourth round).
const { PartitionMemory } = await import(dists[0] + '/src/ring/layout.js');
const live0 = await builds[0].store.count({ partitions: [0] });
const d0 = builds[0].store.descriptor();
const m0 = new PartitionMemory(d0.partitions[0], d0.geometry);
const values = Float64Array.from(m0.values.subarray(0, live0));
const times = Float64Array.from(m0.ts.subarray(0, live0));
const sortedTimes = Float64Array.from(times).sort();
const from = sortedTimes[Math.floor(times.length * 0.1)];
const to = sortedTimes[Math.floor(times.length * 0.9)];

// The floors: plain functions (the harness's loops: core.ts row 4b floor, window.ts floor; a range count; the
// branchless sums), in a worker of their own named ab-floor, over copies of the values and times.
const FLOORS = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeFileSync } = require('node:fs');
try { writeFileSync('/proc/thread-self/comm', 'ab-floor'); } catch {}
const values = new Float64Array(workerData.values);
const times = new Float64Array(workerData.times);
function floorGt50(v) {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x > 50) {
      sum += x;
      count++;
    }
  }
  return sum + count;
}
function floorLt10(v) {
  let s = 0;
  for (let i = 0; i < v.length; i++) if (v[i] < 10) s += v[i];
  return s;
}
function floorRange(t, lo, hi) {
  let count = 0;
  for (let i = 0; i < t.length; i++) {
    const x = t[i];
    if (x >= lo && x <= hi) count++;
  }
  return count;
}
function nbGt50(v) {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    const hit = (x > 50) | 0;
    sum += x * hit;
    count += hit;
  }
  return sum + count;
}
function nbLt10(v) {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    const hit = (x < 10) | 0;
    sum += x * hit;
    count += hit;
  }
  return sum + count;
}
const run = {
  gt50: () => floorGt50(values), lt10: () => floorLt10(values), range: () => floorRange(times, workerData.from, workerData.to),
  nbGt50: () => nbGt50(values), nbLt10: () => nbLt10(values),
};
parentPort.on('message', ({ name, calls }) => {
  let sink = 0;
  for (let k = 0; k < calls; k++) sink += run[name]();
  parentPort.postMessage(sink);
});
`;
const expect = { gt50: 0, lt10: 0, range: 0, rpc: values.length };
for (const x of values) {
  if (x > 50) expect.gt50 += x;
  if (x < 10) expect.lt10 += x;
}
for (const t of times) if (t >= from && t <= to) expect.range++;
const floorWorker = new Worker(FLOORS, { eval: true, workerData: { values: values.buffer, times: times.buffer, from, to } });
const floorCall = (name) => new Promise((resolve) => {
  floorWorker.once('message', resolve);
  floorWorker.postMessage({ name, calls: CALLS });
});
const cases = {
  gt50: { query: (s) => s.sum('amount', { where: { values: { amount: { gt: 50 } } }, partitions: [0] }), floors: ['gt50', 'nbGt50'] },
  lt10: { query: (s) => s.sum('amount', { where: { values: { amount: { lt: 10 } } }, partitions: [0] }), floors: ['lt10', 'nbLt10'] },
  range: { query: (s) => s.count({ from, to, partitions: [0] }), floors: ['range'] },
  rpc: { query: (s) => s.count({ partitions: [0] }), floors: [] },
};
for (const b of builds) {
  for (const [name, c] of Object.entries(cases)) {
    const got = await c.query(b.store);
    if (got !== expect[name]) throw new Error(`${b.name} ${name}: ${got}, expected ${expect[name]}`);
  }
}

let sink = 0;
const floorCpu = /^ab-floor$/;
async function timeQuery(b, c) {
  const c0 = cpuOf(b.worker);
  const t = performance.now();
  for (let k = 0; k < CALLS; k++) sink += await c.query(b.store);
  return { ms: (performance.now() - t) / CALLS, cpu: (cpuOf(b.worker) - c0) / CALLS };
}
async function timeFloor(name) {
  const c0 = cpuOf(floorCpu);
  const t = performance.now();
  sink += await floorCall(name);
  return { ms: (performance.now() - t) / CALLS, cpu: (cpuOf(floorCpu) - c0) / CALLS };
}
const rows = {}; // rows[case][build or floor name] = [{ ms, cpu }] per round
for (const [name, c] of Object.entries(cases)) rows[name] = Object.fromEntries([...builds.map((b) => [b.name, []]), ...c.floors.map((f) => [f, []])]);
for (let r = -1; r < ROUNDS; r++) { // round -1: warm-up
  for (const [name, c] of Object.entries(cases)) {
    const order = r % 2 === 0 ? builds : [...builds].reverse();
    const fs = [];
    for (const f of c.floors) fs.push(await timeFloor(f));
    for (const b of order) {
      const m = await timeQuery(b, c);
      if (r >= 0) rows[name][b.name].push(m);
    }
    if (r >= 0) c.floors.forEach((f, i) => rows[name][f].push(fs[i]));
  }
}
console.log(`N ${N}, partition 0: ${values.length} events, ${ROUNDS} rounds x ${CALLS} calls; range [${from}, ${to}] keeps ${expect.range}`);
for (const [name, c] of Object.entries(cases)) {
  const byBuild = rows[name];
  const line = [`${name.padEnd(5)}`];
  for (const f of c.floors) line.push(`floor ${f} ${median(byBuild[f].map((x) => x.ms)).toFixed(2)} ms (cpu ${median(byBuild[f].map((x) => x.cpu)).toFixed(2)})`);
  for (const b of builds) {
    const xs = byBuild[b.name];
    let s = `| ${b.name}: ${median(xs.map((x) => x.ms)).toFixed(3)} ms, worker cpu ${median(xs.map((x) => x.cpu)).toFixed(2)}`;
    for (const f of c.floors) {
      const fl = byBuild[f];
      const wall = xs.map((x, i) => fl[i].ms / x.ms);
      s += `; ${f}/subject wall ${median(wall).toFixed(2)} [${wall.map((w) => w.toFixed(2)).join(' ')}], cpu ${median(xs.map((x, i) => fl[i].cpu / x.cpu)).toFixed(2)}`;
    }
    line.push(s);
  }
  console.log(line.join(' '));
}
if (builds.length === 2) {
  for (const name of Object.keys(rows)) {
    const [a, b] = builds.map((x) => rows[name][x.name]);
    const rs = a.map((x, i) => x.ms / b[i].ms);
    console.log(`${name}: ${builds[1].name} / ${builds[0].name} speed (wall, per-round median) ${median(rs).toFixed(2)}, worker cpu ${median(a.map((x, i) => x.cpu / b[i].cpu)).toFixed(2)}`);
  }
}
console.log(`sink ${sink > 0}`);
await floorWorker.terminate();
for (const b of builds) await b.store.close();
