// Durable tryAppend flood (fsync never), ~150-byte events, 2 partitions: events/s for each build given, in turn.
// Usage: N=3000000 node bench/ab/durable-flood.mjs <dist> [<dist> ...]
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
const N = Number(process.env.N ?? 3_000_000);
for (const dist of process.argv.slice(2)) {
  const { EventStore } = await import(path.resolve(dist) + '/src/index.js');
  const dir = mkdtempSync('/tmp/rs-flood-');
  const store = await EventStore.open({ partitions: 2, key: 'k', durability: { dir, fsync: 'never' } });
  const ev = { k: '', type: 'order', amount: 1, note: 'x'.repeat(90) };
  const t0 = performance.now();
  for (let i = 0; i < N; i++) { ev.k = 'k' + (i & 1023); ev.amount = i; while (!store.tryAppend(ev)) await store.flush(); }
  await store.flush();
  const ms = performance.now() - t0;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`${dist}: ${(N / ms * 1000 / 1000).toFixed(0)}k events/s (${ms.toFixed(0)} ms)`);
}
