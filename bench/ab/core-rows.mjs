// Core rows, two builds side by side in ONE process (docs/benchmarks/core.md, "Issue 10 A/B"): each row is set up
// for both builds, then timed round by round, alternating which build goes first, so load from other processes
// falls on both alike. Prints per-row medians (rate per second) and new/old, and the process CPU per op
// (all threads; old/new above 1 means the new build spends less), which a loaded machine disturbs less than wall time. The store options are the same for
// both builds: the harness's objectStore (capacity 2^20, 2 partitions) with the 4 MiB input ring of d61fe57's
// bench/core.ts (its 1 MiB ring could stall; --input-bytes 0 takes each build's default).
//   npm run build && OLD_DIST=/tmp/old/dist node bench/ab/core-rows.mjs [--rounds 7] [--events 300000]
//     [--scan 2000000] [--snap 300000] [--adds 2000000] [--queries 2000] [--input-bytes 4194304] [--only add,append,...]
// NEW_DIST (default: this checkout's dist) picks the other build.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { makeEvents, makeTinyEvents } from '../../dist/bench/harness/events.js';

const here = new URL('.', import.meta.url);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const ROUNDS = Number(arg('rounds', 7));
const N = Number(arg('events', 300_000));
const SCAN = Number(arg('scan', 2_000_000));
const SNAP = Number(arg('snap', 300_000));
const ADDS = Number(arg('adds', 2_000_000));
const INPUT = Number(arg('input-bytes', 1 << 22));
const only = arg('only', '')?.split(',').filter(Boolean) ?? [];
const POOL = 1 << 16;

const builds = [
  { name: 'old', dist: process.env.OLD_DIST ?? '/tmp/old/dist' },
  { name: 'new', dist: process.env.NEW_DIST ?? new URL('../../dist', import.meta.url).pathname },
];
for (const b of builds) {
  b.lib = await import(b.dist + '/src/index.js');
  b.loops = await import(new URL(`core-rows-loops.mjs?build=${b.name}`, here).href);
}

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pause = () => new Promise((r) => setTimeout(r, 20));
const pool = makeEvents(POOL, 1);
const snapPool = makeEvents(POOL, 3);
const tinyPool = makeTinyEvents(POOL, 2);
const keys = Array.from({ length: 1024 }, (_, i) => `sensor-${i}`);
const objectStore = (b, capacity) =>
  b.lib.EventStore.create({ capacity, partitions: 2, key: 'user', values: { amount: 'amount' }, ...(INPUT > 0 ? { inputBytes: INPUT } : {}) });

/** Starts `k` producer threads of build b, attached to `store`. */
async function producers(b, store, k) {
  const ws = [];
  for (let i = 0; i < k; i++) {
    const w = new Worker(new URL('core-rows-producer.mjs', here), {
      workerData: { dist: b.dist, descriptor: store.descriptor(), seed: 11 + i, poolSize: POOL },
    });
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    ws.push(w);
  }
  return ws;
}
const run = (w, n, start) =>
  new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('message', (m) => {
      w.off('error', reject);
      resolve(m);
    });
    w.postMessage({ n, start });
  });
async function stopProducers(ws) {
  for (const w of ws) {
    const exited = new Promise((r) => w.once('exit', r));
    w.postMessage('close');
    await exited;
  }
}

/**
 * Each row: setup(b) → state, round(b, state, r) → [ops per second of the timed part, ops], teardown(b, state).
 */
const rows = [
  {
    id: 'add', name: 'row 1: MetricStore.add(key, value, ts), 1 producer',
    setup: (b) => b.lib.MetricStore.create({ capacity: 1_000_000 }),
    round(b, s, r) {
      const t = now();
      b.loops.addLoop(s, keys, ADDS, 1.7e12 + r * ADDS);
      return [ADDS / ((now() - t) / 1000), ADDS];
    },
  },
  {
    id: 'append', name: 'row 2: tryAppend ~140-byte events, 1 producer, 2 partitions (committed: loop + flush)',
    setup: (b) => ({ store: objectStore(b, 1 << 20), start: 0 }),
    async round(b, s) {
      const t = now();
      await b.loops.appendLoop(s.store, pool, N, (s.start += N));
      await s.store.flush();
      return [N / ((now() - t) / 1000), N];
    },
    teardown: (b, s) => s.store.close(),
  },
  {
    id: 'published', name: 'row 2b: same, tryAppend loop only (published, before flush)',
    setup: (b) => ({ store: objectStore(b, 1 << 20), start: 0 }),
    async round(b, s) {
      const t = now();
      await b.loops.appendLoop(s.store, pool, N, (s.start += N));
      const ms = now() - t;
      await s.store.flush();
      return [N / (ms / 1000), N];
    },
    teardown: (b, s) => s.store.close(),
  },
  {
    id: 'arrays', name: 'append(array of 100) awaited, 8 calls in flight, 2 partitions (committed)',
    setup: (b) => ({ store: objectStore(b, 1 << 20), start: 0 }),
    async round(b, s) {
      const t = now();
      await b.loops.appendArrays(s.store, pool, N, (s.start += N), 100);
      return [N / ((now() - t) / 1000), N];
    },
    teardown: (b, s) => s.store.close(),
  },
  ...[1, 2].map((k) => ({
    id: `threads${k}`, name: `row 3: ${k} producer thread${k > 1 ? 's' : ''} attached by descriptor (committed)`,
    async setup(b) {
      const store = objectStore(b, 1 << 20);
      return { store, ws: await producers(b, store, k), start: 0 };
    },
    async round(b, s) {
      const share = Math.floor(N / k);
      const t = now();
      await Promise.all(s.ws.map((w, i) => run(w, share, s.start + i * share)));
      await s.store.flush();
      s.start += N;
      return [(share * k) / ((now() - t) / 1000), share * k];
    },
    async teardown(b, s) {
      await stopProducers(s.ws);
      await s.store.close();
    },
  })),
  {
    id: 'window', name: `row 4a: windowAggregate (600 x 1 s buckets), ${SCAN} events, 2 partitions (queries/s)`,
    setup: (b) => scanStore(b),
    async round(b, s) {
      const q = Number(arg('queries', 2000));
      const t = now();
      for (let i = 0; i < q; i++) await s.store.windowAggregate('amount', { from: s.from, to: s.to });
      return [q / ((now() - t) / 1000), q];
    },
    teardown: (b, s) => s.store.close(),
  },
  {
    id: 'scan', name: 'row 4b/4c: filtered scan sum(amount > 50), all workers (events scanned/s)',
    setup: (b) => scanStore(b),
    async round(b, s) {
      const t = now();
      for (let i = 0; i < 3; i++) await s.store.sum('amount', { where: { values: { amount: { gt: 50 } } } });
      return [(3 * SCAN) / ((now() - t) / 1000), 3 * SCAN];
    },
    teardown: (b, s) => s.store.close(),
  },
  {
    id: 'snapshot', name: `row 5: snapshot() of ${SNAP} events into objects (events/s)`,
    async setup(b) {
      const store = objectStore(b, Math.max(4096, Math.ceil(SNAP * 1.1)));
      await b.loops.appendLoop(store, snapPool, SNAP, 0);
      await store.flush();
      return { store };
    },
    async round(b, s) {
      const live = s.store.stats.live;
      const t = now();
      const got = (await s.store.snapshot()).length;
      if (got !== live) throw new Error(`${b.name}: snapshot returned ${got} of ${live}`);
      return [got / ((now() - t) / 1000), got];
    },
    teardown: (b, s) => s.store.close(),
  },
];

async function scanStore(b) {
  const store = b.lib.EventStore.create({
    capacity: SCAN, partitions: 2, payloadBytes: SCAN * 56, key: 'u', values: { amount: 'a' }, window: { sizeMs: 600_000, bucketMs: 1000 },
  });
  const from = Date.now();
  await b.loops.appendLoop(store, tinyPool, SCAN, 0);
  await store.flush();
  if (store.stats.live !== SCAN) throw new Error(`${b.name}: ${store.stats.live} live of ${SCAN}`);
  return { store, from, to: Date.now() };
}

const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(1));
const loads = [os.loadavg()[0]];
console.log(`core rows A/B, one process: old ${builds[0].dist} vs new ${builds[1].dist}; ${ROUNDS} rounds + 1 warm-up, alternating; ` +
  `node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const table = [];
for (const row of rows) {
  if (only.length > 0 && !only.includes(row.id)) continue;
  const state = {};
  for (const b of builds) state[b.name] = await row.setup(b);
  const got = { old: [], new: [] };
  const cpu = { old: [], new: [] };
  for (let r = 0; r <= ROUNDS; r++) {
    const order = r % 2 === 0 ? builds : [builds[1], builds[0]];
    for (const b of order) {
      // Process CPU per op, all threads (the idle build's workers sleep): steadier than wall time on a loaded machine.
      const c0 = process.cpuUsage();
      const [x, ops] = await row.round(b, state[b.name], r);
      const c = process.cpuUsage(c0);
      if (r > 0) {
        got[b.name].push(x);
        cpu[b.name].push((c.user + c.system) / ops);
      }
      await pause();
    }
  }
  for (const b of builds) await row.teardown?.(b, state[b.name]);
  const o = median(got.old);
  const n = median(got.new);
  // Ratio per round (the two builds ran back to back), then its median: steadier than the ratio of medians.
  const perRound = median(got.new.map((x, i) => x / got.old[i]));
  loads.push(os.loadavg()[0]);
  const cOld = median(cpu.old);
  const cNew = median(cpu.new);
  table.push({ row: row.name, old: o, new: n, ratio: n / o, perRound, cOld, cNew });
  console.log(`${row.name}\n  old ${fmt(o)}/s  new ${fmt(n)}/s  new/old ${(n / o).toFixed(3)} (median of per-round ratios ${perRound.toFixed(3)}; ` +
    `old ${got.old.map(fmt).join(' ')} | new ${got.new.map(fmt).join(' ')}) load ${os.loadavg()[0].toFixed(1)}\n` +
    `  CPU per op (process, µs): old ${cOld.toFixed(3)} new ${cNew.toFixed(3)}, old/new ${(cOld / cNew).toFixed(3)}`);
}
console.log('\n| row | old /s | new /s | new/old | median per-round ratio | CPU µs/op old | new | old/new |\n|---|---|---|---|---|---|---|---|');
for (const t of table) {
  console.log(`| ${t.row} | ${fmt(t.old)} | ${fmt(t.new)} | ${t.ratio.toFixed(2)} | ${t.perRound.toFixed(2)} | ${t.cOld.toFixed(3)} | ${t.cNew.toFixed(3)} | ${(t.cOld / t.cNew).toFixed(2)} |`);
}
console.log(`\n1-min load average during the run: ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}`);
