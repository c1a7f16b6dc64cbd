// A stress producer: a thread that attaches to the store by descriptor, runs
// seeded sessions of appends (single, arrays, conditional batches, bursts
// past the ack ring, tryAppend floods, events at every size limit, reused
// ids), closes, attaches again, and reports every outcome it saw. The
// checker (checker.mjs) compares the outcomes with what the store holds.
import { parentPort, workerData } from 'node:worker_threads';
import { EventStore } from '../../dist/src/index.js';
import { eventSum, rng } from './prng.mjs';

const { descriptor, thread, seed, deadline, settleMs, maxEventBytes, arenaBytes, sharedKeys } = workerData;
const r = rng(seed);
const outcomes = [];
const problems = [];
let n = 0;
let calls = 0;
let maxLatency = 0;
const slowest = { ms: 0, x: 0 };
/** Owned keys (only this thread writes them): their version as this thread last saw it. */
const belief = new Map();
/** (id, key) pairs used before, to retry. */
const usedIds = [];

const PADS = ['x', 'é', '€', '😀'];

function makePad(chars, unit) {
  return unit.repeat(Math.max(0, Math.floor(chars / unit.length)));
}

function makeEvent(key, padChars, unit = 'x') {
  const e = { t: `${thread}.${n++}` };
  if (key !== undefined) e.key = key;
  if (r.chance(0.3)) e.type = r.pick(['a', 'b', 'tÿpe', 'c']);
  e.pad = makePad(padChars, unit);
  e.amount = r.int(-1000, 1000);
  e.c = eventSum(e);
  return e;
}

function randomKey() {
  const x = r.next();
  if (x < 0.35) return `o${thread}-${r.int(0, 5)}`; // owned
  if (x < 0.9) return `s${r.int(0, sharedKeys - 1)}`; // shared, many (the key directory's bound)
  if (x < 0.95) return `ü${r.int(0, 20)}`; // non-ASCII key
  return undefined; // unkeyed: round-robin
}

function smallPad() {
  return r.chance(0.8) ? r.int(0, 40) : r.int(0, Math.min(400, maxEventBytes));
}

/** Records one call's outcome per event. */
function track(promise, events, meta) {
  const call = calls++;
  const started = Date.now();
  const entry = { settled: false };
  const done = promise.then(
    (res) => {
      entry.settled = true;
      maxLatency = Math.max(maxLatency, Date.now() - started);
      const list = Array.isArray(res) ? res : [res];
      if (list.length !== events.length) problems.push(`call ${call}: ${list.length} results for ${events.length} events`);
      events.forEach((e, i) => {
        const x = list[i] ?? {};
        outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', call, i, n: events.length, st: x.duplicate ? 'dup' : 'ok', p: x.partition, pos: x.position, v: x.version, id: x.id, sid: meta.ids?.[i], exp: meta.exp, op: meta.op });
        if (typeof e.key === 'string' && e.key.startsWith(`o${thread}-`) && x.version !== undefined && !x.duplicate) belief.set(e.key, Math.max(belief.get(e.key) ?? 0, x.version));
      });
    },
    (err) => {
      entry.settled = true;
      maxLatency = Math.max(maxLatency, Date.now() - started);
      const code = err?.code ?? `untyped: ${String(err?.message ?? err)}`;
      if (code === 'RS_ERR_CONFLICT' && meta.owned !== undefined) belief.set(meta.owned, err.actual);
      if (code === 'RS_ERR_PARTIAL_APPEND') {
        // Part stored: each stored event is checked like a resolved one, each other like a rejected one.
        events.forEach((e, i) => {
          const x = err.results[i];
          if (x !== undefined) outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', call, i, n: events.length, st: x.duplicate ? 'dup' : 'ok', p: x.partition, pos: x.position, v: x.version, id: x.id, sid: meta.ids?.[i], exp: meta.exp, op: meta.op });
          else outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', call, i, n: events.length, st: 'rej', code: err.errors[i]?.code ?? 'untyped', sid: meta.ids?.[i], exp: meta.exp, op: meta.op });
        });
        return;
      }
      events.forEach((e, i) => outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', call, i, n: events.length, st: 'rej', code, sid: meta.ids?.[i], exp: meta.exp, op: meta.op, actual: err?.actual }));
    },
  );
  entry.done = done;
  entry.events = events;
  entry.call = call;
  return entry;
}

async function attach() {
  for (let i = 0; ; i++) {
    try {
      return EventStore.attach(descriptor);
    } catch (err) {
      if (err?.code !== 'RS_ERR_TOO_MANY_PRODUCERS') throw err;
      if (Date.now() > deadline) return null;
      await new Promise((res) => setTimeout(res, r.int(1, 20)));
    }
  }
}

/** One attach-to-close session. */
async function session() {
  const p = await attach();
  if (p === null) return;
  const inflight = [];
  const ops = r.int(3, 40);
  for (let o = 0; o < ops && Date.now() < deadline; o++) {
    const x = r.next();
    const opStart = Date.now();
    try {
    if (x < 0.25) {
      // single, sometimes with an id: new, a retry of an earlier (id, key), or an earlier id on another key
      const y = r.next();
      let key = randomKey();
      let id;
      if (y < 0.2) id = `${thread}-${n}`;
      else if (y < 0.3 && usedIds.length > 0) [id, key] = r.pick(usedIds);
      else if (y < 0.33 && usedIds.length > 0) id = r.pick(usedIds)[0];
      const unit = r.chance(0.2) ? r.pick(PADS) : 'x';
      const e = makeEvent(key, smallPad(), unit);
      if (id !== undefined) usedIds.push([id, e.key]);
      const t = track(p.append(e, id === undefined ? undefined : { id }), [e], { op: 'single', ids: id === undefined ? undefined : [id] });
      if (r.chance(0.5)) await t.done;
      else inflight.push(t);
    } else if (x < 0.4) {
      const k = r.int(2, 20);
      const events = Array.from({ length: k }, () => makeEvent(randomKey(), smallPad(), r.chance(0.1) ? r.pick(PADS) : 'x'));
      const withIds = r.chance(0.3);
      const ids = withIds ? events.map((e) => e.t.replace('.', '-')) : undefined;
      if (withIds) events.forEach((e, i) => usedIds.push([ids[i], e.key]));
      const t = track(p.append(events, ids === undefined ? undefined : { id: ids }), events, { op: 'array', ids });
      if (r.chance(0.5)) await t.done;
      else inflight.push(t);
    } else if (x < 0.55) {
      // a conditional batch on an owned key
      const owned = `o${thread}-${r.int(0, 5)}`;
      let exp = belief.get(owned) ?? 0;
      if (r.chance(0.15)) exp += r.pick([-1, 1]);
      if (exp < 0) exp = 0;
      const k = r.chance(0.9) ? r.int(1, 12) : r.int(13, 150);
      const events = Array.from({ length: k }, () => makeEvent(owned, smallPad()));
      const t = track(p.append(events, { expectedVersion: exp }), events, { op: 'cond', exp, owned });
      if (r.chance(0.7)) await t.done;
      else inflight.push(t);
    } else if (x < 0.65) {
      // a burst of concurrent single appends, sometimes past the ack ring (8,192 outstanding on one partition)
      const k = r.chance(0.04) ? r.int(8190, 9000) : r.pick([20, 100, 500]);
      const key = r.chance(0.5) ? `s${r.int(0, sharedKeys - 1)}` : `o${thread}-${r.int(0, 5)}`;
      const burst = [];
      for (let i = 0; i < k; i++) {
        const e = makeEvent(key, r.int(0, 12));
        burst.push(track(p.append(e), [e], { op: 'burst' }));
      }
      if (r.chance(0.6)) await Promise.all(burst.map((b) => b.done));
      else inflight.push(...burst);
    } else if (x < 0.85) {
      // tryAppend flood (no acks): true means accepted, and then stored
      const k = r.int(1, 600);
      for (let i = 0; i < k; i++) {
        const e = makeEvent(randomKey(), smallPad(), r.chance(0.1) ? r.pick(PADS) : 'x');
        try {
          const ok = p.tryAppend(e);
          outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', st: ok ? 'true' : 'false', op: 'try' });
        } catch (err) {
          outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', st: 'throw', code: err?.code ?? String(err), op: 'try' });
        }
        if (i % 64 === 63) await new Promise((res) => setImmediate(res));
      }
    } else {
      // events at and around the size limits: maxEventBytes, and the arena (with id, key and type)
      const key = randomKey();
      const unit = r.pick(PADS);
      const overhead = JSON.stringify(makeEventShape(key)).length;
      const targets = [maxEventBytes, maxEventBytes + 1, maxEventBytes - 1, arenaBytes - 60, arenaBytes - 26 - overhead, arenaBytes];
      const target = r.pick(targets);
      const e = makeEvent(key, Math.max(0, target - overhead), unit);
      if (r.chance(0.5)) {
        try {
          const ok = p.tryAppend(e);
          outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', st: ok ? 'true' : 'false', op: 'big-try' });
        } catch (err) {
          outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', st: 'throw', code: err?.code ?? String(err), op: 'big-try' });
        }
      } else {
        let t;
        try {
          t = track(p.append(e), [e], { op: 'big' });
        } catch (err) {
          outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', st: 'throw', code: err?.code ?? String(err), op: 'big' });
        }
        if (t !== undefined) await t.done;
      }
    }
    } finally {
      const took = Date.now() - opStart;
      if (took > slowest.ms) Object.assign(slowest, { ms: took, x });
    }
  }
  // Close: after everything settled, or with appends still in flight.
  if (r.chance(0.5)) await settle(inflight);
  const closed = p.close();
  const after = makeEvent(randomKey(), 3);
  const late = track(p.append(after), [after], { op: 'after-close' });
  try {
    p.tryAppend(makeEvent(randomKey(), 3));
    problems.push('tryAppend after close() did not throw');
  } catch (err) {
    if (err?.code !== 'RS_ERR_CLOSED') problems.push(`tryAppend after close() threw ${err?.code ?? err}`);
  }
  inflight.push(late);
  let t;
  const timer = new Promise((res) => (t = setTimeout(() => res('timeout'), settleMs)));
  const ended = await Promise.race([closed.then(() => 'closed'), timer]);
  clearTimeout(t);
  if (ended !== 'closed') problems.push(`close() did not settle within ${settleMs} ms`);
  await settle(inflight);
}

function makeEventShape(key) {
  const e = { t: `${thread}.${n}` };
  if (key !== undefined) e.key = key;
  e.type = 'tÿpe';
  e.pad = '';
  e.amount = -1000;
  e.c = 4294967295;
  return e;
}

/** Waits for in-flight calls, at most settleMs; the unsettled ones are reported as hung. */
async function settle(inflight) {
  const all = inflight.splice(0);
  let timer;
  const bound = new Promise((res) => (timer = setTimeout(res, settleMs)));
  await Promise.race([Promise.all(all.map((t) => t.done)), bound]);
  clearTimeout(timer);
  for (const t of all) {
    if (t.settled) continue;
    problems.push(`call ${t.call} (${t.events.length} events, first ${t.events[0].t}) did not settle within ${settleMs} ms`);
    for (const e of t.events) outcomes.push({ t: e.t, c: e.c, key: e.key ?? '', st: 'hang', op: 'hang' });
  }
}

try {
  let sessions = 0;
  while (Date.now() < deadline) {
    await session();
    sessions++;
    if (r.chance(0.3)) await new Promise((res) => setTimeout(res, r.int(0, 10)));
  }
  parentPort.postMessage({ thread, outcomes, problems, sessions, calls, maxLatency, slowest, ended: Date.now() - deadline });
} catch (err) {
  parentPort.postMessage({ thread, outcomes, problems: [...problems, `thread ${thread} threw: ${err?.stack ?? err}`], sessions: 0, calls, maxLatency });
}
