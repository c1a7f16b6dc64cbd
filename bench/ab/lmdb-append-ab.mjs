// Versioned-stream appends on LmdbBackend (noSync), 40 sessions x 500 concurrent single-event appends per round,
// rounds alternating builds; wall rate and process CPU (every thread: LMDB commits on a thread of its own) per
// append, then per build the median of its per-round CPU ratios to the first build:
//   node bench/ab/lmdb-append-ab.mjs [--rounds N] <dist> [<dist> ...]
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
let rounds = 3;
if (args[0] === '--rounds') { rounds = Number(args[1]); args.splice(0, 2); }
const mods = [];
for (const dist of args) mods.push(await import(path.resolve(dist) + '/src/streams/index.js'));
const cpu = args.map(() => []);
for (let r = 0; r < rounds; r++) for (let d = 0; d < args.length; d++) {
  const { StreamStoreProvider, LmdbBackend } = mods[d];
  const dir = mkdtempSync('/tmp/lmdbab-');
  const backend = new LmdbBackend({ path: dir, noSync: true });
  const p = new StreamStoreProvider({ backend });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (let s = 0; s < 40; s++) { const st = await p.open(`A/${s}`); const ps = []; for (let i = 0; i < 500; i++) ps.push(st.append([{ type: 'E', data: { i } }])); await Promise.all(ps); n += 500; await st.close(); }
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / n;
  cpu[d].push(us);
  await p.close(); await backend.close(); rmSync(dir, { recursive: true, force: true });
  console.log(`round ${r} ${args[d]}: ${(n / ms).toFixed(1)}k appends/s, ${us.toFixed(1)} µs CPU per append (sessions opened and closed: 40)`);
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
for (let d = 1; d < args.length; d++) {
  const ratios = cpu[d].map((v, r) => cpu[0][r] / v);
  console.log(`${args[d]}: CPU per append, ${args[0]} / this, median of ${rounds} rounds ${median(ratios).toFixed(3)} (rounds ${ratios.map((x) => x.toFixed(2)).join(' ')})`);
}
