/**
 * The ingest pool's default size: the cores left once the main thread and the
 * `/streams` store's partition workers (one per partition) each have one. On
 * the 2-core machine the bench runs on that is 0 (no pool): there the pool
 * did not measure faster than the main thread alone (docs/benchmarks.md,
 * "Ingest threads"), as every thread shares the same two cores.
 */

/** Most ingest threads: each takes a producer slot of each ring store, which has 16 (one is the daemon's). */
export const MAX_INGEST_THREADS = 15;

/** `--ingest-threads` when not given. */
export function defaultIngestThreads(cores: number, partitions: number): number {
  return Math.max(0, Math.min(MAX_INGEST_THREADS, cores - 1 - partitions));
}
