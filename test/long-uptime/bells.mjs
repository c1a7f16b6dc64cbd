// Wake-ups across 2^31: every partition's DOORBELL and every producer's bell start 3 short of 2^31, then
// the coordinator and a producer thread make sequential appends with idle gaps (each a sleep and a
// wake-up on both sides). Run by bells.test.ts with RINGSTORE_TEST_NO_WAKE_POLL=1, so no timer re-rings
// a sleeper: a wake-up lost at the wrap never settles, and the parent's timeout fails the test.
import { Worker } from 'node:worker_threads';
import { EventStore } from '../../dist/src/index.js';
import { ControlMemory, Ctl, PartitionMemory } from '../../dist/src/ring/layout.js';

const START = 2 ** 31 - 3;
const store = EventStore.create({ capacity: 10_000, partitions: 2, key: 'k' });
const d = store.descriptor();
const doorbells = d.partitions.map((sab) => new PartitionMemory(sab, d.geometry));
for (const m of doorbells) Atomics.store(m.i32, PartitionMemory.ctl(Ctl.DOORBELL), START | 0);
const ctl = new ControlMemory(d.control, d.geometry.maxProducers);
for (let p = 0; p < d.geometry.maxProducers; p++) Atomics.store(ctl.i32, ctl.bellIndex(p), START | 0);

const thread = new Promise((resolve, reject) => {
  const w = new Worker(new URL('../fixtures/producer.mjs', import.meta.url), {
    workerData: { descriptor: d, producer: 1, count: 300, mode: 'append', keysPerProducer: 3 },
  });
  w.once('message', resolve);
  w.once('error', reject);
});
let settled = 0;
for (let i = 0; i < 300; i++) {
  await store.append({ k: `c${i % 4}` });
  settled++;
  await new Promise((r) => setTimeout(r, 1)); // idle: the worker goes to sleep
}
const report = await thread;
await store.flush();
const out = {
  settled,
  thread: report.acked.length,
  live: store.stats.live,
  doorbells: doorbells.map((m) => Atomics.load(m.i32, PartitionMemory.ctl(Ctl.DOORBELL))),
  bells: Array.from({ length: d.geometry.maxProducers }, (_, p) => Atomics.load(ctl.i32, ctl.bellIndex(p))),
};
await store.close();
console.log(JSON.stringify(out));
