// tryAppend against its floor (issue 15), old build vs new in ONE process: main-thread CPU per tryAppend of the
// bench's ~140-byte events into a 1-partition store (the `append` scenario's first row: keyed by user, one declared
// value), 2,000 calls at a time then flush() (they fit in the input ring: nothing refused, no retry spin; waiting
// in flush() is idle time, not CPU), and the floor (`JSON.stringify` + `encodeInto` of the same events, peers.ts's loop) in the
// same rounds. Builds alternate which goes first per round; each gets its own copy of the calling loop (a query
// string per import), so neither's call site turns polymorphic. Prints per build the median µs per event, the median
// and range of the per-round ratios floor / build (the target: >= 0.8) and new / old.
//   npm run build && OLD_DIST=/tmp/old/dist node bench/ab/tryappend-cpu.mjs [events=200000] [rounds=9]
// NEW_DIST: another build than this checkout's. OLD_DIST = NEW_DIST is an A/A run (the bench's own spread).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { makeEvents } from '../../dist/bench/harness/events.js';
import { encodeFloor } from './core-rows-loops.mjs';

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 9);
const CHUNK = 2000;
const builds = [
  { name: 'old', dist: process.env.OLD_DIST ?? '/tmp/old/dist' },
  { name: 'new', dist: process.env.NEW_DIST ?? new URL('../../dist', import.meta.url).pathname },
];
const pool = makeEvents(1 << 16, 1);
const mainCpu = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const [k, b] of builds.entries()) {
  const { EventStore } = await import(b.dist + '/src/index.js');
  b.store = EventStore.create({ name: `tab${k}`, capacity: 1 << 18, partitions: 1, key: 'user', values: { amount: 'amount' } });
  b.loop = (await import(`./core-rows-loops.mjs?tryappend-cpu=${k}`)).appendLoop;
  b.us = [];
}
let sink = 0;
const floor = (n, start) => (sink += encodeFloor(pool, n, start));

console.log(`tryappend-cpu: ${N} events, ${ROUNDS} rounds; old ${builds[0].dist}, new ${builds[1].dist}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const floors = [];
let refused = 0;
let at = 0;
for (let r = -1; r < ROUNDS; r++) { // round -1 warms up, not kept
  const start = (at += N);
  for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
    await b.store.flush();
    // One reading around the whole case: a thread's own schedstat lags by up to a scheduler tick (4 ms here), too
    // coarse to time a 2,000-call chunk. The flushes' waits are idle time, not CPU.
    const c0 = mainCpu();
    for (let i = 0; i < N; i += CHUNK) {
      refused += await b.loop(b.store, pool, Math.min(CHUNK, N - i), start + i);
      await b.store.flush();
    }
    if (r >= 0) b.us.push(((mainCpu() - c0) * 1000) / N);
  }
  const c0 = mainCpu();
  floor(N, start);
  if (r >= 0) floors.push(((mainCpu() - c0) * 1000) / N);
}
const range = (xs) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
console.log(`floor: ${median(floors).toFixed(3)} µs/event (${range(floors)})`);
for (const b of builds) {
  const ratios = b.us.map((x, i) => floors[i] / x);
  console.log(`${b.name}: ${median(b.us).toFixed(3)} µs/tryAppend (${range(b.us)}); floor/${b.name} median ${median(ratios).toFixed(2)} (${range(ratios)})`);
}
const nv = builds[1].us.map((x, i) => x / builds[0].us[i]);
console.log(`new/old CPU per tryAppend: median ${median(nv).toFixed(3)} (${range(nv)}); refused ${refused}; load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`, sink > 0);
for (const b of builds) await b.store.close();
