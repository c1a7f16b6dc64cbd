/**
 * One thread's memory, as its own isolate sees it. `process.memoryUsage()`
 * and the `nodejs_heap_*` metrics of the main thread cover the main isolate
 * only: each partition worker has a heap of its own, and a leak there shows
 * only as RSS. Workers answer this over their RPC port.
 */
export interface ThreadMemory {
  /** V8 heap in use and reserved (bytes). */
  heapUsed: number;
  heapTotal: number;
  /** Memory of C++ objects bound to JS objects, ArrayBuffers included (bytes). */
  external: number;
  /** ArrayBuffer and SharedArrayBuffer backing stores held by this isolate (bytes). */
  arrayBuffers: number;
}

/**
 * A diagnostic (the soak's `--live-heaps`): under `node --expose-gc` with
 * RINGSTORE_GC_BEFORE_MEMORY=1 each thread runs a full collection before it
 * measures, so heapUsed is live memory, not live memory plus garbage waiting
 * for a collection (a worker allocates little and collects its old space
 * rarely: its heapUsed climbs for minutes, then drops).
 */
const collect = process.env.RINGSTORE_GC_BEFORE_MEMORY === '1' && typeof globalThis.gc === 'function';

/** The calling thread's memory. */
export function threadMemory(): ThreadMemory {
  if (collect) (globalThis.gc as () => void)();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}
