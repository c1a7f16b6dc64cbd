// The live heap of one partition worker while each of 10,000 keys (the daemon's /metrics store layout) receives
// 0..100 events with the ring full: what the key index keeps of evicted positions, for one build or two.
// Usage: RINGSTORE_GC_BEFORE_MEMORY=1 node --expose-gc bench/ab/key-index-heap.mjs [<dist> ...]
// (default: this checkout's dist; without the flag and variable the heaps include garbage).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dists = process.argv.length > 2 ? process.argv.slice(2) : [path.resolve(here, '../../dist')];
const KEYS = 10_000;

for (const dist of dists) {
  const { EventStore } = await import(path.join(path.resolve(dist), 'src/index.js'));
  const store = await EventStore.open({ partitions: 1, capacity: 65_536, key: 'label', timestamp: 'ts', values: { value: 'value' }, window: { sizeMs: 24 * 3600_000, bucketMs: 60_000 } });
  const row = [];
  let n = 0;
  for (let perKey = 0; perKey <= 100; perKey += 5) {
    while (n < perKey * KEYS) {
      const batch = [];
      for (let i = 0; i < 1000; i++, n++) batch.push({ label: `soak-l${Math.floor(Math.random() * KEYS)}`, ts: Date.now(), value: Math.random() * 100 });
      await store.append(batch);
    }
    await store.flush();
    row.push(`${perKey}:${((await store.workerMemory())[0].heapUsed / 2 ** 20).toFixed(1)}`);
  }
  console.log(`${dist}: events a key:live heap MB ${row.join(' ')}`);
  await store.close();
}
