// dropIndexUpTo alone (the key index's eviction step), for two builds alternated in this process: K keys with
// L live positions each, one push and one drop per step over the keys in turn; ms per 5M steps, 5 rounds.
// Usage: node bench/ab/key-index-drop.mjs <dist before> <dist after>
import path from 'node:path';

const [before, after] = process.argv.slice(2);
if (after === undefined) throw new Error('usage: node bench/ab/key-index-drop.mjs <dist before> <dist after>');
const load = async (dist) => (await import(path.join(path.resolve(dist), 'src/partition/committer-evictions.js'))).dropIndexUpTo;
const builds = { before: await load(before), after: await load(after) };

function run(drop, K, L, steps) {
  const keys = Array.from({ length: K }, (_, k) => ({ positions: Array.from({ length: L }, (_, i) => i * K + k), first: 0 }));
  let pos = L * K;
  const t0 = performance.now();
  for (let s = 0; s < steps; s++, pos++) {
    const ks = keys[pos % K];
    ks.positions.push(pos);
    drop(ks, pos - L * K);
  }
  return performance.now() - t0;
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [K, L] of [[10_000, 6], [100, 600], [10, 6000]]) {
  const r = { before: [], after: [] };
  for (let round = 0; round < 5; round++) for (const b of ['before', 'after']) r[b].push(run(builds[b], K, L, 5_000_000));
  console.log(`K=${K} L=${L}: before ${r.before.map((x) => x.toFixed(0)).join(',')} | after ${r.after.map((x) => x.toFixed(0)).join(',')} | median after/before ${(median(r.after) / median(r.before)).toFixed(2)}`);
}
