// The timed loops of core-rows.mjs. core-rows.mjs imports this module once per build (a different query string
// each time), so each build gets its own copies of the functions and their type feedback: a loop shared by both
// builds would turn polymorphic and time the mix, not either build.
export { appendLoop } from '../../dist/bench/harness/events.js';

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
