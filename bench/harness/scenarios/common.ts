/** Helpers shared by the built-in scenarios: event pools, Zipf keys, store setup, the append loop. */
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { EventStore, type EventStoreOptions } from '../../../src/index.js';
import { workerExecArgv } from '../../../src/partition/worker-exec-argv.js';
import { appendLoop, rng, type BenchEvent } from '../events.js';
import { importOptional } from '../optional.js';
import { now } from '../peers.js';
import type { Sample } from '../types.js';
import type { ProducerTask } from '../producer-task.js';

export { appendLoop, makeEvents, makeTinyEvents, rng, type BenchEvent, type TinyEvent } from '../events.js';

/** Pool sizes are powers of two (appendLoop masks the index). */
export const POOL = 1 << 16;

/** Zipf(s) sampler over ranks 0..n-1 (rank 0 the most frequent), seeded. */
export function zipf(n: number, s: number, seed: number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, s);
    cdf[k] = total;
  }
  for (let k = 0; k < n; k++) cdf[k] /= total;
  const r = rng(seed);
  return () => {
    const u = r();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Bytes of shared memory a store holds (partition buffers + control). */
export function sharedBytesOf(store: EventStore<unknown>): number {
  const d = store.descriptor();
  return d.partitions.reduce((n, b) => n + b.byteLength, 0) + d.control.byteLength;
}

export function objectStore(partitions: number, capacity: number, extra: Partial<EventStoreOptions<BenchEvent>> = {}): EventStore<BenchEvent> {
  return EventStore.create<BenchEvent>({
    capacity, partitions, key: 'user', values: { amount: 'amount' }, ...extra,
  });
}

/** tryAppend `n` events from the main thread (retrying on false), then flush: events committed per second. */
export async function appendRound<T>(store: EventStore<T>, pool: readonly T[], n: number, start: number): Promise<Sample> {
  const t = now();
  const refused = await appendLoop(store, pool, n, start);
  await store.flush();
  return { ops: n, ms: now() - t, sharedBytes: sharedBytesOf(store as EventStore<unknown>), note: `${refused} tryAppend refusals` };
}

/**
 * A piscina pool of producer threads running `producer-task.js` (piscina is
 * loaded on first use). They start with the partition workers' options: under
 * a profiler, per-thread flags only (clinic doctor's sampler, a main-thread
 * preload, corrupts its trace when a thread inherits it).
 */
export async function producerPool(threads: number): Promise<Piscina> {
  const m = await importOptional<typeof import('piscina')>('piscina');
  if (typeof m === 'string') throw new Error(m);
  return new m.Piscina({
    execArgv: workerExecArgv(),
    filename: fileURLToPath(new URL('../producer-task.js', import.meta.url)),
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    idleTimeout: 60_000,
  });
}

/** `k` producer threads each appending n/k events at once, then flush. */
export async function threadedRound(pool: Piscina, store: EventStore<BenchEvent>, k: number, n: number, start: number, seed: number): Promise<Sample> {
  const share = Math.floor(n / k);
  const descriptor = store.descriptor();
  const t = now();
  const done = await Promise.all(
    Array.from({ length: k }, (_, i) =>
      pool.run({ descriptor, n: share, start: start + i * share, seed: seed + i, poolSize: POOL } satisfies ProducerTask) as Promise<{ refused: number }>,
    ),
  );
  await store.flush();
  const refused = done.reduce((a, d) => a + d.refused, 0);
  return { ops: share * k, ms: now() - t, sharedBytes: sharedBytesOf(store as EventStore<unknown>), note: `${refused} tryAppend refusals` };
}

/** Times `q` calls of an async query; per-call latencies. */
export async function timedCalls(q: number, call: () => Promise<unknown>, opsPerCall: number): Promise<Sample> {
  const lat = new Float64Array(q);
  const t = now();
  for (let i = 0; i < q; i++) {
    const t0 = now();
    await call();
    lat[i] = now() - t0;
  }
  return { ops: q * opsPerCall, ms: now() - t, latenciesMs: lat };
}
