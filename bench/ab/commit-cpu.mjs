// CPU A/B (docs/benchmarks/core.md): the partition worker's commit cost alone, on one thread. A Producer fills one
// partition's input ring with ~140-byte events of 10,000 keys and 4 types (the core benchmark's rows 2 and 3), a Committer
// drains it, alternately, on this thread; CPU time of the drains only (Linux schedstat), per event, 4 rounds of N events
// (default 1000000) into 2^19 slots, so the later rounds evict too. No worker thread, no wake-up: what a commit costs.
// DIST=<a build's dist directory> runs another build's committer (e.g. main's):
//   npm run build && DIST=/tmp/base/dist node bench/ab/commit-cpu.mjs
import { readFileSync } from 'node:fs';
import { makeEvents } from '../../dist/bench/harness/events.js';
const D = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const { resolveOptions, geometryOf } = await import(D + '/src/store/options.js');
const { PartitionMemory, ControlMemory } = await import(D + '/src/ring/layout.js');
const { Producer } = await import(D + '/src/store/producer.js');
const { Committer } = await import(D + '/src/partition/committer.js');
const { recoverCommitter } = await import(D + '/src/partition/committer-recovery.js');
const cpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
const N = Number(process.argv[2] ?? 1_000_000);
const o = resolveOptions({ capacity: 1 << 19, partitions: 1, key: 'user', values: { amount: 'amount' } });
const g = geometryOf(o);
const mem = PartitionMemory.allocate(g);
const ctl = ControlMemory.allocate(g.maxProducers);
Atomics.store(ctl.i32, ctl.ownerIndex(0), 1);
const producer = new Producer([mem], ctl, 0, o);
const committer = new Committer(mem, ctl, { partition: 0, window: null, captureEvictions: false });
recoverCommitter(committer);
const pool = makeEvents(1 << 16, 1);
let i = 0;
const rounds = [];
for (let round = 0; round < 4; round++) {
  let commitMs = 0;
  for (let k = 0; k < N;) {
    while (k < N && producer.tryAppend(pool[i++ & 65535])) k++;
    const t = cpu();
    while (committer.hasWork()) committer.drain(Number.MAX_SAFE_INTEGER);
    commitMs += cpu() - t;
  }
  rounds.push(((commitMs * 1000) / N).toFixed(3));
}
console.log(`${D}: commit CPU per event, rounds: ${rounds.join(', ')} µs (live ${committer.live}, discarded ${committer.discarded})`);
