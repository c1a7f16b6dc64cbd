// sum + groupBy with a filter (coordinator path) over 300,000 events, for each build given: node bench/ab/filter-sums-ab.mjs <dist> [<dist> ...]
for (const dist of process.argv.slice(2)) {
  const { EventStore } = await import(`${(await import("node:path")).resolve(dist)}/src/index.js`);
  const s = EventStore.create({ partitions: 2, capacity: 400_000, key: 'k', values: { v: 'v' } });
  for (let i = 0; i < 300_000; i++) while (!s.tryAppend({ k: 'k' + (i % 100), v: i % 97 + 0.5, t: i & 1 ? 'a' : 'b' })) await s.flush();
  await s.flush();
  const ts = [];
  for (let r = 0; r < 7; r++) { const t0 = performance.now(); await s.sum('v', { filter: (e) => e.payload.t === 'a' }); await s.groupBy('v', { filter: (e) => e.payload.t === 'a' }); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(dist, 'sum+groupBy with filter over 300k events: median', ts[3].toFixed(0), 'ms');
  await s.close();
}
