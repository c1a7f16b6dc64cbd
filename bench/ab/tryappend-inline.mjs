// What tryAppend's work costs when written inline, next to its floor (issue 15): the ~140-byte events, main thread,
// no store and no worker (a plain SharedArrayBuffer ring that is never consumed: the cursor wraps), CPU per event.
//   floor      JSON.stringify + encodeInto (peers.ts's loop)
//   inline     what a tryAppend does, in one loop: 3 selectors (key, type, value), Date.now(), JSON.stringify,
//              a CAS claim, the record header (8 Int32 + 3 Float64 words), key and type copied char by char,
//              encodeInto of the JSON, the publishing Atomics.store, the SLEEPING load
//   noDate     inline without Date.now() (a coarse clock's upper bound)
//   noKeyType  inline without the key and type copies (a layout that carries them in the JSON's encodeInto)
//   bare       inline without both
// Shows how far from the floor the record's own work puts an ideal implementation of the current layout.
// With `consumer`, a worker thread consumes the ring as a partition worker does (reads each published length, zeroes
// what it read, stores the head): what the other core's reads and zeroing cost the producer. Then every case
// writes 2,000 records at a time and sleeps (Atomics.wait, no CPU) until the consumer caught up, as the store A/B
// (tryappend-cpu.mjs) flushes every 2,000: the ring never fills, so no claim spins.
//   node bench/ab/tryappend-inline.mjs [events=400000] [rounds=9] [consumer]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { makeEvents } from '../../dist/bench/harness/events.js';

const CAP = 1 << 20;
if (!isMainThread) {
  // The consumer: records in claim order, up to 256 per release, like input-reader.ts.
  const i32 = new Int32Array(workerData.ring);
  const u8 = new Uint8Array(workerData.ring);
  const ctl = new Int32Array(workerData.ctl);
  let head = 0;
  let seen = 0;
  while (Atomics.load(ctl, 48) === 0) {
    let at = head;
    let n = 0;
    for (; n < 256; n++) {
      const len = Atomics.load(i32, (at & (CAP - 1)) >> 2);
      if (len === 0) break;
      seen += i32[((at & (CAP - 1)) >> 2) + 8];
      at = (at + len) | 0;
    }
    if (n === 0) continue;
    const a = head & (CAP - 1);
    const used = (at - head) >>> 0;
    if (a + used <= CAP) u8.fill(0, a, a + used);
    else {
      u8.fill(0, a, CAP);
      u8.fill(0, 0, a + used - CAP);
    }
    head = at;
    Atomics.store(ctl, 16, head);
    Atomics.notify(ctl, 16); // the producer may sleep on it between chunks
  }
  Atomics.store(ctl, 49, seen);
  process.exit(0);
}

const N = Number(process.argv[2] ?? 400_000);
const ROUNDS = Number(process.argv[3] ?? 9);
const CONSUMER = process.argv[4] === 'consumer';
const pool = makeEvents(1 << 16, 1);
const enc = new TextEncoder();
const u8 = new Uint8Array(new SharedArrayBuffer(CAP));
const i32 = new Int32Array(u8.buffer);
const f64 = new Float64Array(u8.buffer);
const ctl = new Int32Array(new SharedArrayBuffer(256)); // cursors 64 bytes apart, as in layout.ts
const fb = new Uint8Array(CAP);
let sink = 0;
let fullSpins = 0;

function copyAscii(dst, at, s) {
  const n = s.length;
  for (let i = 0; i < n; i++) dst[at + i] = s.charCodeAt(i);
  return n;
}
function claim(bytes) {
  for (;;) {
    const tail = Atomics.load(ctl, 0);
    const head = Atomics.load(ctl, 16); // without a consumer it never moves: the ring is overwritten
    const idx = tail & (CAP - 1);
    const contiguous = CAP - idx;
    const total = bytes <= contiguous ? bytes : contiguous + bytes;
    if (CONSUMER && ((tail - head) >>> 0) + total > CAP) {
      fullSpins++; // full: wait for the consumer (CPU spent here is not the record's: counted and printed)
      continue;
    }
    if (Atomics.compareExchange(ctl, 0, tail, (tail + total) | 0) === tail) {
      if (total === bytes) return idx;
      i32[(idx >> 2) + 1] = 2; // a PAD record to the end of the ring
      Atomics.store(i32, idx >> 2, contiguous);
      return 0;
    }
  }
}
/** With a consumer: sleeps until it released everything claimed (so the ring never fills). */
function settle() {
  if (!CONSUMER) return;
  for (;;) {
    const head = Atomics.load(ctl, 16);
    if (head === Atomics.load(ctl, 0)) return;
    Atomics.wait(ctl, 16, head, 10);
  }
}
/** One loop per variant (each its own function, so none shares type feedback). */
function make(date, keyType) {
  return new Function('pool', 'N', 'enc', 'u8', 'i32', 'f64', 'ctl', 'claim', 'copyAscii', 'settle', `return function (start) {
    let s2 = 0;
    for (let i = 0; i < N; i++) {
      if ((i & 2047) === 0) settle();
      const e = pool[(start + i) & 65535];
      const key = e.user, type = e.type, v = e.amount, ts = ${date ? 'Date.now()' : '0'};
      const json = JSON.stringify(e);
      const need = (64 + ${keyType ? 'key.length + type.length + ' : ''}json.length + 7) & ~7;
      const off = claim(need);
      const w = off >> 2, f = off >> 3;
      f64[f + 5] = ts; f64[f + 6] = -1; f64[f + 7] = v;
      let p = off + 64;
      ${keyType ? 'const kl = copyAscii(u8, p, key); p += kl; const tl = copyAscii(u8, p, type); p += tl;' : 'const kl = 0, tl = 0;'}
      const r = enc.encodeInto(json, u8.subarray(p, off + need));
      i32[w + 1] = 1; i32[w + 2] = 0; i32[w + 3] = 0; i32[w + 4] = 1;
      i32[w + 5] = kl; i32[w + 6] = tl; i32[w + 7] = 0; i32[w + 8] = r.written;
      Atomics.store(i32, w, need);
      if (Atomics.load(ctl, 32) === 1) s2++;
    }
    return s2;
  }`)(pool, N, enc, u8, i32, f64, ctl, claim, copyAscii, settle);
}
const cases = {
  floor(start) {
    let off = 0;
    for (let i = 0; i < N; i++) {
      if ((i & 2047) === 0) settle(); // the same calls as the other cases
      const s = JSON.stringify(pool[(start + i) & 65535]);
      if (off + s.length * 3 > fb.length) off = 0;
      off += enc.encodeInto(s, fb.subarray(off)).written;
    }
    return off;
  },
  inline: make(true, true),
  noDate: make(false, true),
  noKeyType: make(true, false),
  bare: make(false, false),
};
// This thread's CPU (/proc schedstat; the consumer's is not in it), read around each ~0.4 s case.
const cpu = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
if (CONSUMER) new Worker(new URL(import.meta.url), { workerData: { ring: u8.buffer, ctl: ctl.buffer } });
const res = {};
console.log(`tryappend-inline: ${N} events, ${ROUNDS} rounds, ${CONSUMER ? 'a consumer thread' : 'no consumer'}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (let r = -1; r < ROUNDS; r++) {
  for (const [k, f] of Object.entries(cases)) {
    const c = cpu();
    sink += f(r * N + 65536);
    if (r >= 0) (res[k] ??= []).push(((cpu() - c) * 1000) / N);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fl = res.floor;
for (const [k, v] of Object.entries(res)) {
  const ratios = v.map((x, i) => fl[i] / x);
  console.log(`${k.padEnd(10)} ${median(v).toFixed(3)} µs/event (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)}); floor/this median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
}
console.log(`claims that found the ring full (spins): ${fullSpins}`);
console.log(`load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`, sink !== 0);
Atomics.store(ctl, 48, 1);
