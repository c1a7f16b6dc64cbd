// The heap in use after full collections, for tests that bound memory: gc() without --expose-gc on the
// command line (worker threads would inherit the flag).
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Bytes of the V8 heap in use after two full collections. */
export function heapUsed(): number {
  gc();
  gc();
  return v8.getHeapStatistics().used_heap_size;
}
