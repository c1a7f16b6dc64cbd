// The timed loops of core-rows.mjs. core-rows.mjs imports this module once per build (a different query string
// each time), so each build gets its own copies of the functions and their type feedback: a loop shared by both
// builds would turn polymorphic and time the mix, not either build.
export { appendLoop } from '../../dist/bench/harness/events.js';

const floorEncoder = new TextEncoder();
const floorBuf = new Uint8Array(1 << 20);

/**
 * The floor of the append rows (peers.ts's `jsonEncodeFloor`): `JSON.stringify` + `encodeInto` of n events of
 * `pool` (a power-of-two length) from `start` into a 1 MiB buffer. Returns the bytes of the last lap (keep it).
 */
export function encodeFloor(pool, n, start) {
  const mask = pool.length - 1;
  let off = 0;
  for (let i = 0; i < n; i++) {
    const s = JSON.stringify(pool[(start + i) & mask]);
    if (off + s.length * 3 > floorBuf.length) off = 0;
    off += floorEncoder.encodeInto(s, floorBuf.subarray(off)).written;
  }
  return off;
}

/** MetricStore.add(key, value, ts) n times over `keys` (a power-of-two count). */
export function addLoop(store, keys, n, t0) {
  const mask = keys.length - 1;
  for (let i = 0; i < n; i++) store.add(keys[i & mask], i, t0 + i);
}

/** `await append(array)` of `batch` events at a time: the promise path, one key per event, 2 partitions. */
export async function appendArrays(store, pool, n, start, batch) {
  const mask = pool.length - 1;
  const waits = [];
  for (let i = 0; i < n; i += batch) {
    const b = new Array(Math.min(batch, n - i));
    for (let j = 0; j < b.length; j++) b[j] = pool[(start + i + j) & mask];
    waits.push(store.append(b));
    if (waits.length >= 8) await waits.shift();
  }
  await Promise.all(waits);
}
