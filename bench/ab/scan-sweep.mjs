// Match-rate sweep of the filtered sum (docs/benchmarks/core.md, issue 15 fourth round): sum(amount < x) over a
// 1-partition store of 2M tiny events (values 0..99 in random order), x = 0..100, so x% of the slots match;
// partition-worker CPU per call (/proc, read while the worker is idle), 5 rounds of 5 calls, builds alternating.
// The branchy and the branchless loops trade places with the match rate: this shows the block driver's choice
// never costs more CPU than the old loop. Several builds run in ONE process (DIST, comma-separated); the store
// created second has measured faster on unchanged code, so run both orders.
//   npm run build && DIST=<main's dist>,$PWD/dist node bench/ab/scan-sweep.mjs
import { cpuOf } from './cpu-by-name.mjs';

const dists = (process.env.DIST ?? new URL('../../dist', import.meta.url).pathname).split(',');
const { makeTinyEvents } = await import('../../dist/bench/harness/events.js');
const N = Number(process.env.N ?? 2000000), ROUNDS = 5, CALLS = 5;
const pool = makeTinyEvents(1 << 16, 2);
const builds = [];
for (const [k, dist] of dists.entries()) {
  const { EventStore } = await import(dist + '/src/index.js');
  let appended = 0;
  const store = EventStore.create({ name: `sw${k}`, timestamp: () => 1.8e12 + (appended >> 6), capacity: N, partitions: 1, payloadBytes: N * 56, key: 'u', values: { amount: 'a' } });
  for (; appended < N; appended++) while (!store.tryAppend(pool[appended & 65535])) await new Promise((r) => setImmediate(r));
  await store.flush();
  builds.push({ name: dist.split('/').slice(-2)[0], store, re: new RegExp(`^rs-sw${k}-p0$`) });
}
const xs = [0, 1, 2, 3, 4, 5, 10, 50, 90, 96, 97, 98, 99, 100];
const res = {};
for (let r = -1; r < ROUNDS; r++) for (const x of xs) for (const b of (r & 1 ? builds : [...builds].reverse())) {
  const q = { where: { values: { amount: { lt: x } } } };
  const c0 = cpuOf(b.re);
  for (let k = 0; k < CALLS; k++) await b.store.sum('amount', q);
  if (r >= 0) ((res[x] ??= {})[b.name] ??= []).push((cpuOf(b.re) - c0) / CALLS);
}
const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const x of xs) console.log(`lt ${String(x).padStart(3)} (${x}% match): ` + builds.map((b) => `${b.name} ${med(res[x][b.name]).toFixed(2)} ms`).join(' | ') + (builds.length === 2 ? ` | ${builds[1].name}/${builds[0].name} cpu ${med(res[x][builds[1].name].map((v, i) => v / res[x][builds[0].name][i])).toFixed(2)}` : ''));
for (const b of builds) await b.store.close();
