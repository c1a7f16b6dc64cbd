// One seeded stress run: rounds of a fresh store with small, seeded bounds
// (input ring, arena, key directory, dedup window, producer slots), real
// producer threads attaching and closing, partition workers killed at random
// points (mid-drain after N records, half of those just after the drain
// handed its evictions over, or terminated from outside at any instruction),
// shared-memory and RPC reads throughout; then the checker.
import { Worker } from 'node:worker_threads';
import { EventStore } from '../../dist/src/index.js';
import { check } from './checker.mjs';
import { firedKills, killTally } from './kill-tally.mjs';
import { derive, eventSum, rng } from './prng.mjs';

const PRODUCER = new URL('./producer-thread.mjs', import.meta.url);
/** Every append must settle within this (kills and restarts included). */
export const SETTLE_MS = 15_000;

/** The store's bounds for round `round` of `seed`. */
export function geometryFor(seed, round) {
  const r = rng(derive(seed, round, 1));
  const partitions = r.int(1, 2);
  const capacityPerPartition = r.pick([4, 16, 64, 256, 1024]);
  const maxEventBytes = r.pick([100, 300, 1000]);
  // The arena: from "every event evicts others" to "slots fill first".
  const arenaPer = Math.ceil(Math.max(maxEventBytes + 32, r.pick([maxEventBytes + 32, capacityPerPartition * 40, capacityPerPartition * 200])) / 8) * 8;
  const maxRecord = 56 + 8 + 3 * maxEventBytes + 1024;
  let inputBytes = 4096;
  while (inputBytes < 4 * maxRecord) inputBytes *= 2;
  if (r.chance(0.3)) inputBytes *= 2;
  const threads = r.int(2, 4);
  return {
    partitions,
    capacity: capacityPerPartition * partitions,
    capacityPerPartition,
    payloadBytes: arenaPer * partitions,
    arenaPer,
    maxEventBytes,
    inputBytes,
    dedupWindow: r.pick([4, 32, 1000]),
    dormantKeys: r.pick([0, 8, 64, 10_000]),
    // One slot fewer than the threads sometimes: attach meets RS_ERR_TOO_MANY_PRODUCERS and retries.
    maxProducers: r.chance(0.5) ? threads : threads + 1,
    threads,
    sharedKeys: r.pick([10, 200, 5000]),
  };
}

function runThread(data) {
  return new Promise((resolve) => {
    const w = new Worker(PRODUCER, { workerData: data });
    let got = null;
    w.once('message', (m) => (got = m));
    w.once('error', (err) => resolve({ thread: data.thread, outcomes: [], problems: [`producer thread ${data.thread} error: ${err.stack ?? err}`] }));
    w.once('exit', (code) => resolve(got ?? { thread: data.thread, outcomes: [], problems: [`producer thread ${data.thread} exited ${code} without a report`] }));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` (a hang fails the round instead of the run). */
async function bounded(p, ms, what) {
  let t;
  try {
    return await Promise.race([p, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

function verifyLive(events, problems, when) {
  for (const e of events) {
    const x = e.payload;
    if (eventSum(x) !== x.c || e.key !== (x.key ?? '') || e.values.amount !== x.amount) {
      problems.push(`${when}: torn event at ${e.partition}:${e.position}`);
      return;
    }
  }
}

/** One round: returns { problems, summary }. */
export async function runRound(seed, round, ms, log = () => {}) {
  const g = geometryFor(seed, round);
  const r = rng(derive(seed, round, 2));
  const discarded = [];
  const lost = [];
  const problems = [];
  const store = EventStore.create({
    partitions: g.partitions, capacity: g.capacity, payloadBytes: g.payloadBytes, maxEventBytes: g.maxEventBytes, inputBytes: g.inputBytes,
    dedupWindow: g.dedupWindow, dormantKeys: g.dormantKeys, maxProducers: g.maxProducers, key: 'key', values: { amount: 'amount' },
    onDiscarded: (events) => discarded.push(...events),
    onDiscardedLost: ({ partition, positions }) => lost.push(...positions.map((p) => `${partition}:${p}`)),
  });
  log(`round ${round}: ${JSON.stringify(g)}`);
  const deadline = Date.now() + ms;
  const d = store.descriptor();
  const threads = Array.from({ length: g.threads }, (_, t) =>
    runThread({
      descriptor: d, thread: t, seed: derive(seed, round, 100 + t), deadline, settleMs: SETTLE_MS,
      maxEventBytes: g.maxEventBytes, arenaBytes: g.arenaPer, sharedKeys: g.sharedKeys,
    }),
  );

  // Kills: at most 12 per partition per round (20 a minute would fail the partition for good).
  const kills = [];
  const killCount = new Array(g.partitions).fill(0);
  // Whether a mid-drain kill lands after the drain handed its evictions over (afterEvictions) comes from a
  // stream of its own, so a seed's other choices (when, which partition, how) replay as before it was added.
  const where = rng(derive(seed, round, 4));
  const killKinds = { records: 0, evictions: 0, terminate: 0, rpc: 0 };
  const killer = (async () => {
    while (Date.now() < deadline - 300) {
      await sleep(r.int(100, 1200));
      const p = r.int(0, g.partitions - 1);
      if (killCount[p] >= 12 || Date.now() >= deadline - 300) continue;
      killCount[p]++;
      const how = r.pick(['records', 'records', 'terminate', 'terminate', 'rpc']);
      const opts = how === 'records' ? { afterRecords: r.int(1, 60) } : how === 'terminate' ? { terminate: true } : {};
      if (how === 'records' && where.chance(0.5)) opts.afterEvictions = true;
      killKinds[opts.afterEvictions ? 'evictions' : how]++;
      const kill = { p, how, settled: false };
      const done = store.crashPartition(p, opts)
        .catch((err) => problems.push(`crashPartition(${p}, ${JSON.stringify(opts)}) failed: ${err.code ?? err}`))
        .finally(() => (kill.settled = true));
      kill.done = done;
      kills.push(kill);
      // Armed mid-drain kills fire on the next drain: wait for one before arming another here.
      await Promise.race([done, sleep(2000)]);
    }
  })();

  // Readers throughout: RPC snapshots and a shared-memory reader, checked for torn events.
  const reader = store.reader();
  let reads = 0;
  const reading = (async () => {
    while (Date.now() < deadline) {
      await sleep(r.int(50, 400));
      try {
        verifyLive(reader.snapshot(), problems, 'shared-memory read');
        verifyLive(await store.snapshot({ limit: 500 }), problems, 'snapshot');
        reads++;
      } catch (err) {
        if (err?.code !== 'RS_ERR_WORKER') problems.push(`a read failed: ${err?.code ?? ''} ${err?.stack ?? err}`);
      }
    }
  })();

  const reports = await Promise.all(threads);
  const threadsDone = Date.now() - deadline;
  await killer;
  await reading;
  reader.close();
  let summary = {};
  let reportsChecked = null;
  try {
    // An armed mid-drain kill fires on the flush's drain; flush again after it.
    await bounded(store.flush(), SETTLE_MS, 'flush');
    // A mid-drain kill fires only in a drain of at least N records: one armed near the end may never see one.
    // Give it a moment, then end that worker from its RPC instead (the armed count stays unused in memory).
    const armed = () => kills.filter((k) => !k.settled && k.how === 'records');
    for (let i = 0; i < 100 && armed().length > 0; i++) await sleep(20);
    for (const k of armed()) kills.push({ p: k.p, how: 'rpc', done: store.crashPartition(k.p).catch((err) => problems.push(`crashPartition(${k.p}, rpc) failed: ${err.code ?? err}`)) });
    await bounded(Promise.all(kills.map((k) => k.done)), SETTLE_MS, 'kills');
    await bounded(store.flush(), SETTLE_MS, 'flush');
    const live = await bounded(store.snapshot(), SETTLE_MS, 'snapshot');
    // onDiscarded is delivered asynchronously: wait until it caught up with the counter.
    for (let i = 0; i < 200 && discarded.length + lost.length < store.stats.discarded; i++) await sleep(10);
    const outcomes = reports.flatMap((x) => x.outcomes);
    for (const x of reports) problems.push(...x.problems.map((p) => `thread ${x.thread}: ${p}`));
    const stats = store.stats;
    const res = check({ outcomes, live, discarded, lost, stats, capacityPerPartition: g.capacityPerPartition });
    problems.push(...res.problems);
    if (discarded.length + lost.length >= stats.discarded) reportsChecked = [discarded.length, lost.length];
    summary = {
      outcomes: outcomes.length, ...res.count, live: live.length, discarded: discarded.length, restarts: stats.restarts, kills: killCount, killKinds,
      fired: firedKills(d),
      reads, threadsLateMs: threadsDone, slowest: reports.map((x) => [x.slowest, x.ended]), sessions: reports.reduce((a, x) => a + (x.sessions ?? 0), 0), maxLatencyMs: Math.max(0, ...reports.map((x) => x.maxLatency ?? 0)),
    };
    if (stats.partitions.some((p) => p.failed)) problems.push('a partition failed for good');
  } catch (err) {
    problems.push(`round ${round}: ${err.stack ?? err}`);
  } finally {
    await bounded(store.close(), SETTLE_MS, 'close').catch((err) => problems.push(String(err)));
  }
  // Nothing was appended after the check and every eviction was accounted for by then: a report that came
  // later (the workers' last messages arrive by their exit, in close) is a second report of some eviction.
  if (reportsChecked !== null && (discarded.length > reportsChecked[0] || lost.length > reportsChecked[1])) {
    const late = [...discarded.slice(reportsChecked[0]).map((e) => `${e.partition}:${e.position}`), ...lost.slice(reportsChecked[1]).map((at) => `lost ${at}`)];
    problems.push(`evictions reported after the check (a second report): ${late.join(' ')}`.slice(0, 300));
  }
  log(`round ${round}: ${JSON.stringify(summary)}`);
  return { problems, summary, geometry: g };
}

/**
 * Rounds until `ms` have passed; stops at the first round with problems. Then counts the kills armed against
 * those that fired (`kills`): too few fired where armed fails the run (`round: 'all'`).
 */
export async function runStress({ seed, ms, roundMs = [3000, 8000], log = () => {} }) {
  const until = Date.now() + ms;
  const results = [];
  for (let round = 0; Date.now() < until || round === 0; round++) {
    const len = Math.max(1000, Math.min(until - Date.now(), rng(derive(seed, round, 3)).int(roundMs[0], roundMs[1])));
    const res = await runRound(seed, round, len, log);
    results.push(res);
    if (res.problems.length > 0) {
      const kills = killTally(results.map((x) => x.summary));
      log(kills.line);
      return { ok: false, round, results, problems: res.problems, kills };
    }
  }
  // Every round passed: the run still fails if too few of its kills landed where they were armed (kill-tally.mjs).
  const kills = killTally(results.map((x) => x.summary));
  log(kills.line);
  if (kills.problems.length > 0) return { ok: false, round: 'all', results, problems: kills.problems, kills };
  return { ok: true, results, problems: [], kills };
}
