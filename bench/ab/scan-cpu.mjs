// CPU A/B (docs/benchmarks/core.md): sum(amount > 50) on partition 0 of N tiny events (default 4000000), 5 calls per round, against a bare loop over the same values; 'worker cpu' is per call.
// CPU per thread from /proc (bench/harness/thread-cpu.ts). DIST=<a build's dist directory> runs another build's store (e.g. main's),
// with this checkout's harness helpers: npm run build && DIST=/tmp/base/dist node bench/ab/scan-cpu.mjs
const { EventStore } = await import((process.env.DIST ?? new URL('../../dist', import.meta.url).pathname) + '/src/index.js');
import { makeTinyEvents, appendLoop } from '../../dist/bench/harness/events.js';
import { threadCpu } from '../../dist/bench/harness/thread-cpu.js';
const N = Number(process.argv[2] ?? 4000000);
const pool = makeTinyEvents(1<<16, 2);
const store = EventStore.create({ capacity: N, partitions: 2, payloadBytes: N * 56, key: 'u', values: { amount: 'a' }, window: { sizeMs: 600_000, bucketMs: 1000 } });
await appendLoop(store, pool, N, 0); await store.flush();
const live0 = store.stats.partitions[0].live;
const values0 = Float64Array.from({ length: live0 }, (_, i) => pool[i & 65535].a);
const where = { values: { amount: { gt: 50 } } };
let sink = 0;
for (let r = 0; r < 4; r++) {
  let a = threadCpu(); let t = performance.now();
  for (let k = 0; k < 5; k++) sink += await store.sum("amount", { where, partitions: [0] });
  const ts = performance.now() - t; let b = threadCpu();
  const w = (b.workers - a.workers);
  a = threadCpu(); t = performance.now();
  let sum = 0, count = 0;
  for (let i = 0; i < values0.length; i++) { const v = values0[i]; if (v > 50) { sum += v; count++; } }
  sink += sum + count;
  const tf = performance.now() - t; b = threadCpu();
  console.log(`scan ${ts.toFixed(1)} ms (${(live0/ts/1000).toFixed(0)}M/s, worker cpu ${(w/5).toFixed(1)} ms) | bare ${tf.toFixed(1)} ms (${(live0/tf/1000).toFixed(0)}M/s, main cpu ${b.main-a.main} ms) ratio ${(tf/ts).toFixed(2)}`);
}
console.log(store.stats.partitions[0].live, sink > 0);
await store.close();
