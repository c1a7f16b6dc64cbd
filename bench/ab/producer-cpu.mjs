// Producer-path CPU A/B (docs/benchmarks/core.md, issue 15): main-thread CPU per event of the append path, for two
// or more builds' stores in ONE process (same events, same store options, builds alternate which goes first per round):
//   single      append(event), 1,000 calls in flight at a time (Promise.all per window), the ~140-byte events
//   array1p     append(array of 100) to one partition (opts.partition: one claim, one ticket run), 10 calls in flight
//   arrayMixed  append(array of 100) keyed by user over 2 partitions (a claim and a ticket per event), 10 calls in flight
//   tryAppend   tryAppend, 2,000 at a time then flush() (they fit in the input ring: nothing refused, no retry spin)
//   floor       JSON.stringify + encodeInto of the same events into a 1 MiB buffer (the encode every path must do)
// CPU is this (the main) thread's run time from /proc schedstat (ns), so time spent waiting for acks is not counted;
// the partition workers' CPU is not in it. Prints per case and build the median main-thread µs per event, the median
// per-round ratio of each build to the first (DIST's first entry, the baseline), and the floor as a share of each.
//   npm run build && DIST=/work/wt-producer-base/dist,$PWD/dist node bench/ab/producer-cpu.mjs [events=200000] [rounds=7]
// DIST: builds' dist directories, comma-separated (default: this checkout's); the first is the baseline of the ratios.
// The same directory twice is an A/A run: how far from 1.00 the ratios of identical builds land.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { makeEvents, appendLoop } from '../../dist/bench/harness/events.js';
import { encodeFloor } from './core-rows-loops.mjs';

const N = Number(process.argv[2] ?? 200000);
const ROUNDS = Number(process.argv[3] ?? 7);
const SINGLE_WINDOW = 1000;
const BATCH = 100;
const BATCH_WINDOW = 10;
const TRY_CHUNK = 2000;
let refused = 0;
const dists = (process.env.DIST ?? new URL('../../dist', import.meta.url).pathname).split(',');
const pool = makeEvents(1 << 16, 1);
const batches = Array.from({ length: pool.length / BATCH }, (_, i) => pool.slice(i * BATCH, (i + 1) * BATCH));

const mainCpu = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const builds = [];
for (const [k, dist] of dists.entries()) {
  const { EventStore } = await import(dist + '/src/index.js');
  const store = EventStore.create({ name: `pab${k}`, capacity: 1 << 20, partitions: 2, key: 'user', values: { amount: 'amount' } });
  // The same build twice (an A/A run, to see the bench's own bias) gets a second name.
  const name = dist.replace(/\/dist\/?$/, '').split('/').pop() + (dists.indexOf(dist) === k ? '' : `#${k}`);
  builds.push({ name, store });
}

let at = 0; // where in the pool the next case starts (every build's store gets the same events per case and round)
const cases = {
  async single(store, n, start) {
    for (let i = 0; i < n; i += SINGLE_WINDOW) {
      const calls = new Array(SINGLE_WINDOW);
      for (let j = 0; j < SINGLE_WINDOW; j++) calls[j] = store.append(pool[(start + i + j) & 65535]);
      await Promise.all(calls);
    }
  },
  async array1p(store, n, start) {
    const b0 = Math.floor(start / BATCH);
    for (let i = 0; i < n / BATCH; i += BATCH_WINDOW) {
      const calls = new Array(BATCH_WINDOW);
      for (let j = 0; j < BATCH_WINDOW; j++) calls[j] = store.append(batches[(b0 + i + j) % batches.length], { partition: (i + j) & 1 });
      await Promise.all(calls);
    }
  },
  async arrayMixed(store, n, start) {
    const b0 = Math.floor(start / BATCH);
    for (let i = 0; i < n / BATCH; i += BATCH_WINDOW) {
      const calls = new Array(BATCH_WINDOW);
      for (let j = 0; j < BATCH_WINDOW; j++) calls[j] = store.append(batches[(b0 + i + j) % batches.length]);
      await Promise.all(calls);
    }
  },
  async tryAppend(store, n, start) {
    // 2,000 at a time (~0.5 MB: they fit in the 1 MiB input ring), then flush(): no refused calls spinning
    // while a worker lags, so the CPU is the calls' own. appendLoop retries if one is refused all the same.
    for (let i = 0; i < n; i += TRY_CHUNK) {
      refused += await appendLoop(store, pool, Math.min(TRY_CHUNK, n - i), start + i);
      await store.flush();
    }
  },
};

let sink = 0;
const floor = (n, start) => (sink += encodeFloor(pool, n, start));

const rows = {}; // rows[case][build name | 'floor'] = µs per event, one per round
for (const c of [...Object.keys(cases), 'floor']) rows[c] = {};
const keep = (c, who, us) => (rows[c][who] ??= []).push(us);
console.log(`producer-cpu: ${N} events per case, ${ROUNDS} rounds, builds ${builds.map((b) => b.name).join(', ')}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (let r = -1; r < ROUNDS; r++) { // round -1: warm-up, not kept
  for (const [name, run] of Object.entries(cases)) {
    const start = (at += N);
    const order = r % 2 === 0 ? builds : [...builds].reverse();
    for (const b of order) {
      await b.store.flush();
      const c0 = mainCpu();
      await run(b.store, N, start);
      const us = ((mainCpu() - c0) * 1000) / N;
      if (r >= 0) keep(name, b.name, us);
    }
  }
  const c0 = mainCpu();
  floor(N, at);
  if (r >= 0) keep('floor', 'floor', ((mainCpu() - c0) * 1000) / N);
}

const base = builds[0].name;
const fl = median(rows.floor.floor);
console.log(`floor (JSON.stringify + encodeInto): ${fl.toFixed(3)} µs/event main-thread CPU`);
for (const name of Object.keys(cases)) {
  const parts = builds.map((b) => {
    const xs = rows[name][b.name];
    const ratio = median(xs.map((x, i) => x / rows[name][base][i]));
    return `${b.name} ${median(xs).toFixed(3)} µs/ev (x${ratio.toFixed(2)} of ${base}; floor/this ${(fl / median(xs)).toFixed(2)})`;
  });
  console.log(`${name.padEnd(10)} ${parts.join(' | ')}`);
}
console.log(`load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; tryAppend refused ${refused} times`, sink > 0, builds.map((b) => b.store.stats.live).join(' '));
for (const b of builds) await b.store.close();
