// Lost wake-ups (docs/architecture.md, "Sleeping and waking"): producer threads append in seeded bursts
// separated by idle gaps, so the partition workers go to sleep and are woken over and over; the
// coordinator kills workers now and then (re-sent acks, stalls on full ack rings). Run with
// RINGSTORE_TEST_NO_WAKE_POLL=1, the timers that re-ring a sleeping worker (100 ms) or a waiting
// producer (20 ms) ring nothing, so a wake-up the protocol loses is an append that never settles:
// every append must settle within SETTLE_MS, far beyond any wake-up on a loaded machine.
//   RINGSTORE_TEST_NO_WAKE_POLL=1 node test/stress/wakeups.mjs --seed S --ms 6000
// Prints one JSON line: { problems, appends, rings, kills }.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { EventStore } from '../../dist/src/index.js';
import { derive, rng } from './prng.mjs';

const SETTLE_MS = 15_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Control words (src/ring/layout.ts): one 64-byte line (16 ints) each. */
const CTL = { IN_TAIL: 0, IN_HEAD: 1, SLEEPING: 2, DOORBELL: 3, STALLED: 17 };
function ctlWords(sab) {
  const i32 = new Int32Array(sab, 0, 20 * 16);
  return Object.fromEntries(Object.entries(CTL).map(([k, f]) => [k, Atomics.load(i32, f * 16)]));
}

async function producer() {
  const { descriptor, thread, seed, ms } = workerData;
  const r = rng(seed);
  const p = EventStore.attach(descriptor);
  const problems = [];
  let appends = 0;
  let accepted = 0;
  let n = 0;
  const ev = (key) => ({ k: key, t: thread, n: n++, pad: 'x'.repeat(r.int(0, 120)) });
  const key = () => (r.chance(0.5) ? `t${thread}-${r.int(0, 3)}` : `s${r.int(0, 40)}`);
  /** Every promise must settle within SETTLE_MS; a lost wake-up never settles (the re-ring timers are off). */
  const settle = async (what, promises) => {
    let timer;
    const bound = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), SETTLE_MS)));
    const all = Promise.allSettled(promises).then((rs) => rs);
    const out = await Promise.race([all, bound]);
    clearTimeout(timer);
    if (out === 'timeout') {
      problems.push(`thread ${thread}: ${what} (${promises.length} appends) did not settle within ${SETTLE_MS} ms; ` +
        `partitions ${JSON.stringify(descriptor.partitions.map(ctlWords))}`);
      return false;
    }
    for (const x of out) {
      if (x.status === 'rejected') problems.push(`thread ${thread}: ${what}: ${x.reason?.code ?? ''} ${x.reason?.message ?? x.reason}`);
      else accepted += Array.isArray(x.value) ? x.value.length : 1;
    }
    return true;
  };
  const until = Date.now() + ms;
  while (Date.now() < until && problems.length === 0) {
    const x = r.next();
    if (x < 0.35) {
      // A burst of single appends, awaited together: one wake-up of each sleeping worker, acks for all.
      const k = r.chance(0.1) ? r.int(8_000, 12_000) : r.int(1, 300);
      const ps = [];
      for (let i = 0; i < k; i++) ps.push(p.append(ev(key())));
      appends += k;
      await settle(`burst of ${k}`, ps);
    } else if (x < 0.55) {
      // One awaited append at a time: every one is a sleep and a wake-up of its worker.
      for (let i = r.int(1, 20); i > 0; i--) {
        appends++;
        if (!(await settle('single append', [p.append(ev(key()))]))) break;
      }
    } else if (x < 0.7) {
      // An array (one claim per partition run), sometimes conditional on a fresh key.
      const cond = r.chance(0.3);
      const k = cond ? r.int(2, 100) : r.int(2, 500); // a conditional batch fits in half the input ring
      const kk = cond ? `c${thread}-${n}` : undefined;
      const events = Array.from({ length: k }, () => ev(kk ?? key()));
      appends += k;
      await settle(`array of ${k}`, [p.append(events, cond ? { expectedVersion: 0 } : {})]);
    } else if (x < 0.85) {
      // tryAppend until refused or k, then a synchronous gap before the loop yields (the deferred
      // ring waits for it), then one awaited append behind them.
      const k = r.int(1, 4_000);
      for (let i = 0; i < k; i++) {
        if (!p.tryAppend(ev(key()))) break;
        accepted++;
        appends++;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, r.int(0, 5));
      appends++;
      await settle('append after tryAppends', [p.append(ev(key()))]);
    } else {
      // Idle: the workers finish and go to sleep.
      await sleep(r.int(0, 25));
    }
  }
  // close() waits for every append to settle: after a lost wake-up it would wait for ever.
  if (problems.length === 0) await p.close();
  parentPort.postMessage({ problems, appends, accepted });
  if (problems.length > 0) process.exit(1);
}

async function main() {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? dflt : Number(process.argv[i + 1]);
  };
  const seed = arg('seed', 1) >>> 0;
  const ms = arg('ms', 6000);
  const threads = arg('threads', 3);
  const r = rng(derive(seed, 0xaced));
  const store = EventStore.create({ partitions: 2, capacity: 8192, key: 'k', maxEventBytes: 1024, inputBytes: 1 << 16 });
  const d = store.descriptor();
  const rung = () => d.partitions.reduce((s, sab) => s + ctlWords(sab).DOORBELL, 0);
  const self = fileURLToPath(import.meta.url);
  const results = [];
  const done = Array.from({ length: threads }, (_, t) => new Promise((resolve) => {
    const w = new Worker(self, { workerData: { descriptor: d, thread: t, seed: derive(seed, t), ms } });
    w.once('message', (m) => results.push(m));
    w.once('error', (err) => results.push({ problems: [`thread ${t} failed: ${err.stack ?? err}`], appends: 0, accepted: 0 }));
    w.once('exit', resolve);
  }));
  // Worker kills at seeded times in the first half: recovery re-sends the acks of the killed drain,
  // and a producer with thousands outstanding can then find its ack ring full (the worker stalls on
  // it). None in the second half: a restarted worker drains what it finds, which would hide a lost
  // wake-up.
  let kills = 0;
  let running = true;
  const killsUntil = Date.now() + ms / 2;
  const killer = (async () => {
    while (running) {
      await sleep(r.int(200, 900));
      if (!running || Date.now() > killsUntil) break;
      await store.crashPartition(r.int(0, 1), { terminate: true });
      kills++;
    }
  })();
  await Promise.all(done);
  running = false;
  await killer;
  await store.flush();
  const problems = results.flatMap((x) => x.problems);
  const accepted = results.reduce((s, x) => s + x.accepted, 0);
  const st = store.stats;
  if (problems.length === 0 && st.appended !== accepted) problems.push(`the store counts ${st.appended} appended, the producers ${accepted} accepted`);
  if (st.rejected !== 0) problems.push(`${st.rejected} rejected`);
  const appends = results.reduce((s, x) => s + x.appends, 0);
  const rings = rung();
  await store.close();
  process.stdout.write(`${JSON.stringify({ problems, appends, rings, kills })}\n`);
}

if (isMainThread) await main();
else await producer();
