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

/** The calling thread's memory. */
export function threadMemory(): ThreadMemory {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}
