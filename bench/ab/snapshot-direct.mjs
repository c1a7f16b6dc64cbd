// Option (3) of issue 15 for snapshot(), measured before building it (docs/benchmarks/core.md, "Issue 15: snapshot(), third round"):
// what the coordinator reading the rings itself under the seqlock would cost, against what the workers' transfer costs now.
//   sums-on:  registering a shared-memory reader makes each worker checksum every live slot before a read may start (serial)
//   verify:   the coordinator's part of a checked read, without any decoding: per slot the seqlock loads, the columns, a copy
//             of the bytes into a reused scratch buffer and slot-checksum.ts's checksum of the copy
//   packed / copied: the workers' round trip as snapshot() makes it, with a data filter that matches everything (packed) and with none (copied)
// CPU per event per thread from /proc. npm run build && node bench/ab/snapshot-direct.mjs [events, default 1000000]
const D = new URL('../../dist', import.meta.url).pathname;
const { EventStore } = await import(D + '/src/index.js');
const { PartitionMemory, Ctl, Commit } = await import(D + '/src/ring/layout.js');
const { checksum } = await import(D + '/src/ring/slot-checksum.js');
const { makeEvents, appendLoop } = await import(D + '/bench/harness/events.js');
const { threadCpu } = await import(D + '/bench/harness/thread-cpu.js');
const N = Number(process.argv[2] ?? 1000000);
const store = EventStore.create({ capacity: Math.ceil(N * 1.1), partitions: 2, key: 'user', values: { amount: 'amount' } });
await appendLoop(store, makeEvents(1 << 16, 3), N, 0);
await store.flush();
const d = store.descriptor();
const mems = d.partitions.map((s) => new PartitionMemory(s, d.geometry));
const ctl = (f) => PartitionMemory.ctl(f);
const per = (a, b, ms) => `${((ms * 1000) / N).toFixed(3)} µs/ev wall; CPU main ${(((b.main - a.main) * 1000) / N).toFixed(3)} workers ${(((b.workers - a.workers) * 1000) / N).toFixed(3)} µs/ev`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let round = 0; round < 3; round++) {
  let a = threadCpu();
  let t = performance.now();
  for (const m of mems) {
    Atomics.add(m.i32, ctl(Ctl.READERS), 1);
    Atomics.add(m.i32, ctl(Ctl.DOORBELL), 1);
    Atomics.notify(m.i32, ctl(Ctl.DOORBELL));
  }
  for (const m of mems) while (Atomics.load(m.i32, ctl(Ctl.SUMMED)) !== 1) await sleep(1);
  let b = threadCpu();
  console.log(`sums-on  ${per(a, b, performance.now() - t)}`);
  a = threadCpu();
  t = performance.now();
  let kept = 0;
  const scratch = new Uint8Array(1 << 20);
  const words = new Int32Array(scratch.buffer);
  for (const m of mems) {
    const C = m.geometry.capacity;
    const A = m.geometry.arenaBytes;
    const V = m.geometry.valueCount;
    const nums = new Float64Array(4 + V);
    const lens = new Int32Array(4);
    const tail = m.committed(Commit.TAIL_POS);
    for (let p = Math.max(1, m.committed(Commit.HEAD_POS), tail - C); p < tail; p++) {
      const s = (p - 1) % C;
      const s1 = Atomics.load(m.seq, s);
      if (s1 & 1 || m.pos[s] !== p) continue;
      nums[0] = p;
      nums[1] = m.ts[s];
      nums[2] = m.ver[s];
      const abs = (nums[3] = m.arenaAbs[s]);
      for (let v = 0; v < V; v++) nums[4 + v] = m.values[v * C + s];
      const len = (lens[0] = m.idLen[s]) + (lens[1] = m.keyLen[s]) + (lens[2] = m.typeLen[s]) + (lens[3] = m.payloadLen[s]);
      const at = abs % A;
      const w = at >> 2;
      const full = (len + 3) >> 2;
      for (let i = 0; i < full; i++) words[i] = m.arena32[w + i];
      const sum = Atomics.load(m.sum, s);
      if (Atomics.load(m.seq, s) !== s1) continue;
      if (checksum(nums, 4 + V, lens, words, 0, scratch, 0, len) === sum) kept++;
    }
  }
  b = threadCpu();
  console.log(`verify   ${per(a, b, performance.now() - t)} (${kept} of ${N} kept)`);
  for (const m of mems) Atomics.sub(m.i32, ctl(Ctl.READERS), 1);
  await sleep(200); // the workers turn sums off again
  for (const [name, q] of [['packed', { where: { values: { amount: { gte: -1e9 } } } }], ['copied', {}]]) {
    a = threadCpu();
    t = performance.now();
    const parts = await Promise.all(store.handles.map((h) => h.call('snapshot', q.where ? { comparisons: [[0, 3, -1e9]] } : {})));
    b = threadCpu();
    console.log(`${name.padEnd(8)} ${per(a, b, performance.now() - t)} (round trip, ${parts.reduce((n, p) => n + p.count, 0)} events)`);
  }
}
await store.close();
