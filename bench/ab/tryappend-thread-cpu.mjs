// Run: npm run build && OLD_DIST=/tmp/old/dist node bench/ab/tryappend-thread-cpu.mjs (NEW_DIST: another build than this checkout's)
// CPU per tryAppend of the main thread (publish only, a 64 MiB input ring that never fills) and of the other threads
// (the partition workers and GC) per committed event, old vs new build, alternating round by round in one process.
import { threadCpu } from '../../dist/bench/harness/thread-cpu.js';
import { makeEvents } from '../../dist/bench/harness/events.js';
const builds = [{ name: 'old', dist: process.env.OLD_DIST ?? '/tmp/old/dist' }, { name: 'new', dist: process.env.NEW_DIST ?? new URL('../../dist', import.meta.url).pathname }];
for (const b of builds) { b.lib = await import(b.dist + '/src/index.js'); b.loop = (await import(`./core-rows-loops.mjs?b=${b.name}x`)).appendLoop; b.cpu = []; b.w = []; }
const pool = makeEvents(1 << 16, 1);
const N = 100_000;
for (let r = 0; r < 13; r++) {
  for (const b of r % 2 ? builds : [...builds].reverse()) {
    const store = b.lib.EventStore.create({ capacity: 1 << 18, partitions: 2, key: 'user', values: { amount: 'amount' }, inputBytes: 1 << 26 });
    await store.flush();
    const a = threadCpu();
    const refused = await b.loop(store, pool, N, r * N);
    const c = threadCpu();
    await store.flush();
    const d = threadCpu();
    await store.close();
    if (r > 0) b.w.push((((d.process - d.main) - (a.process - a.main)) * 1000) / N);
    if (refused > 0) console.log(b.name, 'refused', refused);
    if (r > 0) b.cpu.push(((c.main - a.main) * 1000) / N);
  }
}
const med = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
for (const b of builds) console.log(b.name, 'main-thread µs per tryAppend: median', med(b.cpu).toFixed(3), b.cpu.map((x) => x.toFixed(2)).join(' '));
console.log('old/new', (med(builds[0].cpu) / med(builds[1].cpu)).toFixed(3));
for (const b of builds) console.log(b.name, 'CPU of all other threads (workers, GC) µs per committed event: median', med(b.w).toFixed(3), b.w.map((x) => x.toFixed(2)).join(' '));
console.log('old/new', (med(builds[0].w) / med(builds[1].w)).toFixed(3));
