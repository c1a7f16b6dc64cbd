// Versioned-stream appends on LmdbBackend (noSync), 40 sessions x 500 concurrent single-event appends, 3 rounds
// alternating builds: node bench/ab/lmdb-append-ab.mjs <dist> [<dist> ...]
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
for (const r of [0, 1, 2]) for (const dist of process.argv.slice(2)) {
  const { StreamStoreProvider, LmdbBackend } = await import(path.resolve(dist) + '/src/streams/index.js');
  const dir = mkdtempSync('/tmp/lmdbab-');
  const backend = new LmdbBackend({ path: dir, noSync: true });
  const p = new StreamStoreProvider({ backend });
  const t0 = performance.now();
  let n = 0;
  for (let s = 0; s < 40; s++) { const st = await p.open(`A/${s}`); const ps = []; for (let i = 0; i < 500; i++) ps.push(st.append([{ type: 'E', data: { i } }])); await Promise.all(ps); n += 500; await st.close(); }
  const ms = performance.now() - t0;
  await p.close(); await backend.close(); rmSync(dir, { recursive: true, force: true });
  console.log(`round ${r} ${dist}: ${(n / ms).toFixed(1)}k appends/s (sessions opened and closed: 40)`);
}
