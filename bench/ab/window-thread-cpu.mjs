// Run: npm run build && OLD_DIST=/tmp/old/dist node bench/ab/window-thread-cpu.mjs (NEW_DIST: another build than this checkout's)
// windowAggregate CPU per query, main thread vs the rest (workers), old vs new, alternating in one process.
import { threadCpu } from '../../dist/bench/harness/thread-cpu.js';
import { makeTinyEvents } from '../../dist/bench/harness/events.js';
const builds = [{ name: 'old', dist: process.env.OLD_DIST ?? '/tmp/old/dist' }, { name: 'new', dist: process.env.NEW_DIST ?? new URL('../../dist', import.meta.url).pathname }];
const pool = makeTinyEvents(1 << 16, 2);
const N = 2_000_000, Q = 500;
for (const b of builds) {
  b.lib = await import(b.dist + '/src/index.js');
  const loop = (await import(`./core-rows-loops.mjs?w=${b.name}`)).appendLoop;
  b.store = b.lib.EventStore.create({ capacity: N, partitions: 2, payloadBytes: N * 56, key: 'u', values: { amount: 'a' }, window: { sizeMs: 600_000, bucketMs: 1000 } });
  b.from = Date.now(); await loop(b.store, pool, N, 0); await b.store.flush(); b.to = Date.now();
  b.main = []; b.rest = [];
}
for (let r = 0; r < 11; r++) for (const b of r % 2 ? builds : [...builds].reverse()) {
  const a = threadCpu();
  for (let i = 0; i < Q; i++) await b.store.windowAggregate('amount', { from: b.from, to: b.to });
  const c = threadCpu();
  if (r > 0) { b.main.push((c.main - a.main) * 1000 / Q); b.rest.push(((c.process - c.main) - (a.process - a.main)) * 1000 / Q); }
}
const med = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
for (const b of builds) console.log(`${b.name}: main ${med(b.main).toFixed(1)} µs/query, other threads ${med(b.rest).toFixed(1)} µs/query`);
console.log(`old/new main ${(med(builds[0].main) / med(builds[1].main)).toFixed(3)}, other ${(med(builds[0].rest) / med(builds[1].rest)).toFixed(3)}`);
for (const b of builds) await b.store.close();
