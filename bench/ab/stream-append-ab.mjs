// A/B of StreamSession.append on the in-memory backend (native log): old dist vs new dist,
// rounds alternating. Usage: OLD_DIST=/tmp/old/dist node bench/ab/stream-append-ab.mjs [rounds]
// Prints events/s per build and batch size, and new/old medians.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const NEW = path.resolve(here, '../../dist');
const OLD = process.env.OLD_DIST;
if (!OLD) throw new Error('set OLD_DIST to the old build');
const rounds = Number(process.argv[2] ?? 7);
const builds = { old: await import(path.join(OLD, 'src/streams/index.js')), new: await import(path.join(NEW, 'src/streams/index.js')) };

async function run(mod, batch, total) {
  const provider = new mod.StreamStoreProvider();
  const s = await provider.open(`Acc/${batch}`, { sessionTimeoutMs: 600_000 });
  const events = Array.from({ length: batch }, (_, i) => ({ type: 'Deposited', data: { amount: i, note: 'x' }, metadata: { userId: 'u' } }));
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < total; n += batch) await s.append(events);
  const ns = Number(process.hrtime.bigint() - t0);
  await s.close();
  await provider.close();
  return (total / ns) * 1e9;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const batch of [1, 100]) {
  const total = batch === 1 ? 100_000 : 500_000;
  const r = { old: [], new: [] };
  await run(builds.old, batch, total / 10); // warm-up
  await run(builds.new, batch, total / 10);
  for (let i = 0; i < rounds; i++) for (const b of i % 2 ? ['new', 'old'] : ['old', 'new']) r[b].push(await run(builds[b], batch, total));
  const fmt = (x) => `${(x / 1e3).toFixed(0)}k/s`;
  console.log(`batch ${batch}: old ${fmt(median(r.old))} [${r.old.map(fmt).join(' ')}], new ${fmt(median(r.new))} [${r.new.map(fmt).join(' ')}], new/old ${(median(r.new) / median(r.old)).toFixed(3)}`);
}
