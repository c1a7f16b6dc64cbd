// CPU A/B (docs/benchmarks/core.md): snapshot() of N events (default 500000) against TextDecoder + JSON.parse of the same events, 3 rounds.
// CPU per thread from /proc (bench/harness/thread-cpu.ts). DIST=<a build's dist directory> runs another build's store (e.g. main's),
// with this checkout's harness helpers: npm run build && DIST=/tmp/base/dist node bench/ab/snapshot-cpu.mjs
const { EventStore } = await import((process.env.DIST ?? new URL('../../dist', import.meta.url).pathname) + '/src/index.js');
import { makeEvents, appendLoop } from '../../dist/bench/harness/events.js';
import { threadCpu } from '../../dist/bench/harness/thread-cpu.js';
const N = Number(process.argv[2] ?? 500000);
const pool = makeEvents(1<<16, 3);
const store = EventStore.create({ capacity: Math.ceil(N*1.1), partitions: 2, key: 'user', values: { amount: 'amount' } });
await appendLoop(store, pool, N, 0); await store.flush();
const enc = new TextEncoder(); const dec = new TextDecoder();
const encoded = pool.map(e => enc.encode(JSON.stringify(e)));
const d = (a, b) => `main ${((b.main-a.main)*1000/N).toFixed(2)} workers ${((b.workers-a.workers)*1000/N).toFixed(2)} other ${((b.other-a.other)*1000/N).toFixed(2)} proc ${((b.process-a.process)*1000/N).toFixed(2)} µs/ev`;
for (let r = 0; r < 3; r++) {
  let a = threadCpu(); let t = performance.now();
  const s = await store.snapshot();
  const ts = performance.now() - t; let b = threadCpu();
  const sline = d(a, b);
  a = threadCpu(); t = performance.now();
  const out = new Array(s.length); for (let i = 0; i < s.length; i++) out[i] = JSON.parse(dec.decode(encoded[i & 65535]));
  const tf = performance.now() - t; b = threadCpu();
  console.log(`snapshot ${ts.toFixed(0)} ms [${sline}] | floor ${tf.toFixed(0)} ms [${d(a,b)}] wall ratio ${(tf/ts).toFixed(2)}`);
}
await store.close();
