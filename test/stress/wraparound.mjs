// Wrap-around under contention (moved here from test/concurrency.test.ts, where
// it took 26-51 s): producer threads flood a small ring with tryAppend while
// RPC readers and shared-memory reader threads read; every event must end up
// exactly once in live ∪ evicted, untorn, with exact accounting and the
// evicted ones older than the live ones. `npm test` runs a short pass, the
// stress runner the full size (4 × 500,000 events through 4,096 slots).
import { Worker } from 'node:worker_threads';
import { EventStore } from '../../dist/src/index.js';
import { checksum } from '../fixtures/checksum.mjs';

const PRODUCER = new URL('../fixtures/producer.mjs', import.meta.url);
const READER = new URL('../fixtures/reader.mjs', import.meta.url);

function thread(url, workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(url, { workerData });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`thread exited ${code}`)));
  });
}

function torn(e) {
  return checksum(e.payload) !== e.payload.c || e.key !== e.payload.key || e.values.amount !== e.payload.amount;
}

export async function runWrapAround({ producers, perProducer, capacity }) {
  const problems = [];
  const discarded = [];
  const store = EventStore.create({ capacity, partitions: 2, key: 'key', values: { amount: 'amount' }, onDiscarded: (events) => discarded.push(events) });
  let reading = true;
  let snapshots = 0;
  let checked = 0;
  const rpcReader = async () => {
    while (reading) {
      const seen = new Set();
      const lastVersion = new Map();
      for (const e of await store.snapshot()) {
        if (torn(e)) problems.push(`snapshot: torn event at ${e.partition}:${e.position}`);
        const id = `${e.payload.p}:${e.payload.s}`;
        if (seen.has(id)) problems.push(`snapshot: ${id} twice`);
        seen.add(id);
        const prev = lastVersion.get(e.key);
        if (prev !== undefined && e.version <= prev) problems.push(`snapshot: key ${e.key} version ${e.version} after ${prev}`);
        lastVersion.set(e.key, e.version);
        checked++;
      }
      snapshots++;
    }
  };
  const readers = [rpcReader(), rpcReader()];
  const stop = new SharedArrayBuffer(4);
  const threadReaders = [thread(READER, { descriptor: store.descriptor(), stop }), thread(READER, { descriptor: store.descriptor(), stop })];
  const results = await Promise.all(
    Array.from({ length: producers }, (_, producer) => thread(PRODUCER, { descriptor: store.descriptor(), producer, count: perProducer, mode: 'try', keysPerProducer: 16 })),
  );
  await store.flush();
  reading = false;
  await Promise.all(readers);
  Atomics.store(new Int32Array(stop), 0, 1);
  for (const r of await Promise.all(threadReaders)) {
    problems.push(...r.problems.map((p) => `reader thread: ${p}`));
    if (r.reads <= 2 || r.events === 0) problems.push(`a reader thread read ${r.reads} times, ${r.events} events`);
  }
  const live = await store.snapshot();
  const accepted = results.reduce((n, r) => n + r.accepted, 0);
  for (let i = 0; i < 200 && discarded.reduce((n, d) => n + d.length, 0) + live.length < accepted; i++) await new Promise((r) => setTimeout(r, 25));
  const s = store.stats;
  const eq = (what, a, b) => a !== b && problems.push(`${what}: ${a} != ${b}`);
  eq('accepted', accepted, producers * perProducer);
  eq('appended vs accepted', s.appended, accepted);
  eq('appended vs live + discarded + rejected', s.appended, s.live + s.discarded + s.rejected);
  eq('rejected', s.rejected, 0);
  eq('live vs snapshot', s.live, live.length);
  if (s.live > store.capacity) problems.push(`live ${s.live} > capacity ${store.capacity}`);
  const seen = new Uint8Array(producers * perProducer);
  let evicted = 0;
  for (const batch of discarded) {
    for (const e of batch) {
      if (torn(e)) problems.push(`evicted: torn event at ${e.partition}:${e.position}`);
      seen[e.payload.p * perProducer + e.payload.s]++;
      evicted++;
    }
  }
  for (const e of live) {
    if (torn(e)) problems.push(`live: torn event at ${e.partition}:${e.position}`);
    seen[e.payload.p * perProducer + e.payload.s]++;
  }
  eq('evicted vs discarded', evicted, s.discarded);
  let missing = 0;
  let twice = 0;
  for (const n of seen) {
    if (n === 0) missing++;
    if (n > 1) twice++;
  }
  eq('missing', missing, 0);
  eq('twice', twice, 0);
  if (s.discarded <= 100 * store.capacity) problems.push(`the ring wrapped only ${s.discarded / store.capacity} times`);
  if (snapshots <= 2 || checked === 0) problems.push(`the RPC readers read ${snapshots} snapshots`);
  for (let p = 0; p < store.partitions; p++) {
    let minLive = Infinity;
    for (const e of live) if (e.partition === p && e.position < minLive) minLive = e.position;
    let maxEvicted = -Infinity;
    for (const batch of discarded) for (const e of batch) if (e.partition === p && e.position > maxEvicted) maxEvicted = e.position;
    if (maxEvicted >= minLive) problems.push(`partition ${p}: evicted ${maxEvicted} is not older than live ${minLive}`);
  }
  await store.close();
  return { problems: problems.slice(0, 40), summary: { accepted, discarded: s.discarded, live: s.live, snapshots, checked } };
}
