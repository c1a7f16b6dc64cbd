/**
 * Commits the ring stores' shared memory at start. A store's buffers are
 * allocated zeroed, and the kernel gives a page only when it is first
 * written: the arenas (written in a circle) and the slot, key and dedup
 * tables used to enter RSS page by page until every part had been written
 * once, which takes minutes to hours of traffic and looked like a leak in
 * the soak ("RSS grows after the rings are full"). The daemon's memory is
 * fixed by its flags: it should be resident from the start, so that a
 * machine without it fails now, not on day three.
 */
import type { EventStore } from '../store/event-store.js';

const PAGE_INTS = 4096 / 4;

/**
 * Writes every page of `store`'s shared buffers with an atomic add of 0: the
 * page becomes resident and its contents (restored events of a durable store,
 * words a worker writes meanwhile) are unchanged. Returns the bytes touched.
 */
export function commitRingMemory(store: EventStore<unknown>): number {
  const d = store.descriptor();
  let bytes = 0;
  for (const sab of [...d.partitions, d.control]) {
    const words = new Int32Array(sab, 0, sab.byteLength >>> 2);
    for (let i = 0; i < words.length; i += PAGE_INTS) Atomics.add(words, i, 0);
    bytes += sab.byteLength;
  }
  return bytes;
}
