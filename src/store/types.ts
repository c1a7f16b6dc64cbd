export type { CrashOutcome } from '../partition/fault-exit.js';
/** An event as stored: the payload plus what the partition worker assigned. */
export interface StoredEvent<T> {
  /**
   * Event id: the caller's idempotency id, or a ULID: made by the producer in `append()` (the id it resolves
   * with), by the partition worker at commit for a `tryAppend()` without an id. Either way an event keeps one
   * id, across worker crashes too.
   */
  id: string;
  /** Routing key ('' for unkeyed events). */
  key: string;
  /** Event type ('' when none). */
  type: string;
  /** Event time, ms since the epoch. */
  timestamp: number;
  /** Partition that holds it. */
  partition: number;
  /** Position within the partition: starts at 1, increases by 1 per committed event. */
  position: number;
  /** Version of its key: 1 for the key's first event, +1 per event of that key. */
  version: number;
  /** Declared numeric values, by name. */
  values: Record<string, number>;
  /** The appended event, decoded from its stored JSON. */
  payload: T;
}

/** What `append` resolves with, per event. */
export interface AppendResult {
  id: string;
  partition: number;
  position: number;
  version: number;
  /** True when the id was seen before: nothing was stored; position and version are the first one's. */
  duplicate: boolean;
}

/** What `append(input)` resolves with: one {@link AppendResult} for an event, an array of them for an array. */
export type AppendResults<I> = I extends readonly unknown[] ? AppendResult[] : AppendResult;

/** Per-call options of `append`. */
export interface AppendOptions {
  /**
   * Explicit partition (overrides the key hash). Versions and idempotency ids are kept per partition: a keyed
   * event sent to another partition than its key's starts a version sequence of that key there.
   */
  partition?: number;
  /**
   * The key's version before this append (0 for a new key). A mismatch rejects
   * with `ConflictError` and stores nothing. With an array, every event must
   * have the same key, and the batch is all or nothing.
   */
  expectedVersion?: number;
  /** Idempotency id (an array of ids for an array of events). */
  id?: string | readonly string[];
}

/** Per-call options of `tryAppend`. */
export interface TryAppendOptions {
  partition?: number;
  /** Idempotency id. */
  id?: string;
}

/** Options of `purge`. */
export interface PurgeOptions {
  /** Events with a timestamp before this (ms since the epoch, or a Date) are removed. */
  olderThan: number | Date;
}

/** A comparison on a declared value, run inside the partition workers. */
export interface ValueComparison {
  eq?: number;
  ne?: number;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** Data filters that run inside the partition workers (fast). `V`: the names of the declared values. */
export interface Where<V extends string = string> {
  /** Event type equals this (or one of these). */
  type?: string | readonly string[];
  /** Comparisons on declared values, all of which must hold. */
  values?: { [name in V]?: ValueComparison };
}

/**
 * A query over the store. `from`/`to` are inclusive timestamps (ms). `V`: the names of the declared values.
 * A key the query does not know (here or in `where`) is refused with `RS_ERR_INVALID_ARGUMENT`
 * rather than ignored: a misspelt filter would otherwise answer over every event.
 */
export interface Query<T, V extends string = string> {
  from?: number;
  to?: number;
  /** Only these keys. */
  keys?: readonly (string | number)[];
  /** Only events whose key version is >= fromVersion (inclusive): pages through a key's events. */
  fromVersion?: number;
  /** Only events whose key version is <= toVersion (inclusive). */
  toVersion?: number;
  /** Only these partitions. */
  partitions?: readonly number[];
  where?: Where<V>;
  /**
   * An arbitrary predicate. It cannot cross threads, so it runs on the
   * coordinator over the merged stream of decoded events: slower than `where`.
   */
  filter?: (event: StoredEvent<T>) => boolean;
  /**
   * At most this many events, the first in merged order (after `filter`): for `snapshot`, `events` and
   * `aggregate` (a fold over those events). `count`, `sum`, `average`, `min`, `max`, `groupBy` and `top` ignore it.
   */
  limit?: number;
}

/** Count, sum, min, max and average of one value. */
export interface WindowAggregate {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  avg: number;
}

/** Per-partition statistics; see {@link StoreStats}. */
export interface PartitionStats {
  partition: number;
  /** Events that reached the worker (committed, duplicates and conflicts). */
  appended: number;
  committed: number;
  discarded: number;
  rejected: number;
  duplicates: number;
  conflicts: number;
  purged: number;
  live: number;
  capacity: number;
  /** tryAppend calls refused because the input ring was full (a 64-bit count: exact to 2^53). */
  refused: number;
  /**
   * Commits per second over the last 10 seconds, of the appends this partition's current worker committed
   * (a worker restarted, a store reopened or loaded from images starts from 0, not from the recovered history).
   */
  appendsPerSecond: number;
  /** Time of the last commit (ms since the epoch), or null; kept in checkpoints and images. */
  lastAppendTime: number | null;
  /** Worker restarts so far. */
  restarts: number;
  /** True once the partition failed for good (its worker could not start or kept dying). */
  failed: boolean;
  /** Calls (queries, flushes, purges) the coordinator sent to the partition's worker. */
  calls: number;
  /** Keys with live events (their state follows the live events). */
  keys: number;
  /** Keys without live events whose last version is remembered (at most the `dormantKeys` bound). */
  dormantKeys: number;
  /** Caller ids remembered for idempotency (at most `dedupWindow` per partition). */
  dedupIds: number;
}

/**
 * Store statistics, read from shared memory without asking the workers. At any
 * quiescent point: `appended = live + discarded + rejected + purged`, and
 * `rejected = duplicates + conflicts`.
 */
export interface StoreStats extends Omit<PartitionStats, 'partition' | 'lastAppendTime' | 'failed'> {
  lastAppendTime: number | null;
  partitions: PartitionStats[];
}
