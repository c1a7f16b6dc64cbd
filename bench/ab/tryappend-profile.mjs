// tryAppend alone under the profiler (issue 15): one store built from dist/ (1 partition, keyed by user, one declared
// value, the bench's ~140-byte events), tryAppend in a loop, flush() when one is refused. Prints events/s, then the
// functions with the most self time and, for `prepare`, the source lines with the most samples (JSON.stringify is a
// builtin: its samples land on prepare's line that calls it).
//   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/ta-prof bench/ab/tryappend-profile.mjs [events=2000000]
//   node bench/ab/tryappend-profile.mjs --summary /tmp/ta-prof/<file>.cpuprofile
import { readFileSync } from 'node:fs';
import { topSelfTime, formatHot } from '../../dist/bench/harness/profile-summary.js';

if (process.argv[2] === '--summary') {
  const p = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  console.log(formatHot('self time', topSelfTime(p, 20), 'ms'));
  const lines = new Map();
  for (const n of p.nodes) {
    if (n.callFrame.functionName !== 'prepare' || !n.positionTicks) continue;
    for (const t of n.positionTicks) lines.set(t.line, (lines.get(t.line) ?? 0) + t.ticks);
  }
  const total = p.nodes.reduce((s, x) => s + (x.hitCount ?? 0), 0);
  for (const [line, ticks] of [...lines].sort((a, b) => b[1] - a[1]).slice(0, 6)) {
    console.log(`prepare line ${line}: ${((ticks / total) * 100).toFixed(1)}% of all samples`);
  }
} else {
  const { EventStore } = await import('../../dist/src/index.js');
  const { makeEvents } = await import('../../dist/bench/harness/events.js');
  const pool = makeEvents(1 << 16, 1);
  const store = EventStore.create({ capacity: 1 << 18, partitions: 1, key: 'user', values: { amount: 'amount' } });
  const n = Number(process.argv[2] ?? 2_000_000);
  let refused = 0;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const e = pool[i & 65535];
    while (!store.tryAppend(e)) {
      refused++;
      await store.flush();
    }
  }
  await store.flush();
  console.log(`${Math.round((n / (performance.now() - t)) * 1000)} events/s committed, ${refused} refused`);
  await store.close();
}
