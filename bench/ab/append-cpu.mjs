// CPU A/B (docs/benchmarks/core.md): rows 2 and 2b of the core benchmark. tryAppend of N ~140-byte events (default 500000) from the main
// thread into a 2-partition store, then flush(), against JSON.stringify + encodeInto of the same events (the floor), 4 rounds in one process.
// Per round: wall time, CPU µs per event per thread group (bench/harness/thread-cpu.ts) and the doorbell rings per 1,000 events (wake-ups
// of a sleeping partition worker, from DOORBELL in shared memory; the workers' own 100 ms idle ticks included), and this thread's
// Atomics.notify calls: their wall time and how much of it the thread spent waiting for a core (Linux schedstat).
// DIST=<a build's dist directory> runs another build's store (e.g. main's) with this checkout's harness helpers:
//   npm run build && DIST=/tmp/base/dist node bench/ab/append-cpu.mjs
const { EventStore } = await import((process.env.DIST ?? new URL('../../dist', import.meta.url).pathname) + '/src/index.js');
import { makeEvents, appendLoop } from '../../dist/bench/harness/events.js';
import { threadCpu } from '../../dist/bench/harness/thread-cpu.js';
import { readFileSync } from 'node:fs';
const N = Number(process.argv[2] ?? 500000);
const pool = makeEvents(1 << 16, 1);
const store = EventStore.create({ capacity: 1 << 20, partitions: 2, key: 'user', values: { amount: 'amount' } });
// DOORBELL is control word 3 (src/ring/layout.ts), one 64-byte line (16 ints) per word.
const bells = store.descriptor().partitions.map((sab) => new Int32Array(sab, 0, 64));
const rung = () => bells.reduce((n, b) => n + Atomics.load(b, 3 * 16), 0);
const d = (a, b) => `main ${((b.main - a.main) * 1000 / N).toFixed(2)} workers ${((b.workers - a.workers) * 1000 / N).toFixed(2)} proc ${((b.process - a.process) * 1000 / N).toFixed(2)} µs/ev`;
// Atomics.notify on this thread (the producer's doorbell rings), timed, with the time this thread spent waiting for a core during
// those calls (schedstat's second field): on a loaded machine the waker is preempted at the notify by the thread it wakes.
const notify = Atomics.notify;
const sched = () => readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
let calls = 0, inNotify = 0, queued = 0;
Atomics.notify = function (...args) {
  const a = sched(); const t = performance.now();
  const woke = notify.apply(Atomics, args);
  inNotify += performance.now() - t; queued += (sched()[1] - a[1]) / 1e6; calls++;
  return woke;
};
const enc = new TextEncoder();
const buf = new Uint8Array(1 << 20);
let start = 0;
let sink = 0;
for (let r = 0; r < 4; r++) {
  calls = inNotify = queued = 0;
  let a = threadCpu(); let t = performance.now(); const bell0 = rung();
  const refused = await appendLoop(store, pool, N, (start += N));
  const tLoop = performance.now() - t;
  await store.flush();
  const ts = performance.now() - t; let b = threadCpu();
  const line = `append ${ts.toFixed(0)} ms (loop ${tLoop.toFixed(0)} ms, ${refused} refused, ${((rung() - bell0) * 1000 / N).toFixed(2)} rings/1k; ` +
    `${calls} notify calls: ${inNotify.toFixed(0)} ms, ${queued.toFixed(0)} ms of it waiting for a core) [${d(a, b)}]`;
  a = threadCpu(); t = performance.now();
  let off = 0;
  for (let i = 0; i < N; i++) {
    const s = JSON.stringify(pool[i & 65535]);
    if (off + s.length * 3 > buf.length) off = 0;
    off += enc.encodeInto(s, buf.subarray(off)).written;
  }
  sink += off;
  const tf = performance.now() - t; b = threadCpu();
  console.log(`${line} | floor ${tf.toFixed(0)} ms [main ${((b.main - a.main) * 1000 / N).toFixed(2)} µs/ev] wall ratio ${(tf / ts).toFixed(2)} (loop only ${(tf / tLoop).toFixed(2)})`);
}
console.log(store.stats.live, sink > 0);
await store.close();
