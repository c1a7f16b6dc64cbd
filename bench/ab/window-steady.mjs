// windowAggregate in steady state, where each query follows a few appends that evict events inside the
// window (decimal values, whose bucket sums round): per-query wall time, for one build or two.
// Usage: node bench/ab/window-steady.mjs [<dist> ...]   (default: this checkout's dist)
// Each build runs in this process in turn: a store of 2 partitions x 65,536 events, a 24 h window of
// 1-minute buckets (the daemon's /metrics store), filled 3x over, then 200 rounds of 200 appends + 1 query.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dists = process.argv.length > 2 ? process.argv.slice(2) : [path.resolve(here, '../../dist')];

for (const dist of dists) {
  const { EventStore } = await import(path.join(path.resolve(dist), 'src/index.js'));
  const store = EventStore.create({
    partitions: 2, capacity: 131_072, key: 'label', timestamp: 'ts', values: { value: 'value' },
    window: { sizeMs: 86_400_000, bucketMs: 60_000 },
  });
  const t0 = Date.now() - 3_600_000;
  let n = 0;
  const fill = async (count) => {
    for (let i = 0; i < count; i++) {
      while (!store.tryAppend({ label: `cpu${i % 50}`, value: Math.random() * 100, ts: t0 + (n++) * 5 })) await store.flush();
    }
    await store.flush();
  };
  const f0 = process.hrtime.bigint();
  await fill(400_000);
  const fillMs = Number(process.hrtime.bigint() - f0) / 1e6;
  const times = [];
  for (let r = 0; r < 200; r++) {
    await fill(200);
    const s = process.hrtime.bigint();
    await store.windowAggregate('value');
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`${dist}: windowAggregate after evictions: median ${times[100].toFixed(3)} ms, p90 ${times[180].toFixed(3)} ms; filling 400,000 events (tryAppend + flush) ${fillMs.toFixed(0)} ms`);
  await store.close();
}
