/**
 * Public types, option validation and argument errors of `MetricStore`.
 * Split from `metric-store.ts` to keep that file to the class itself.
 * @module
 */
import type { Logger } from 'pino';
import { RingstoreError, invalidArgument, invalidOption } from '../errors.js';
import type { Io } from '../durability/io.js';
import { keySet, unknownKey } from '../known-keys.js';
import { checkLogger, type DurabilityOptions } from './options.js';

/** Largest accepted `capacity` (samples): 2^28, i.e. 5 GiB of columns. */
export const METRIC_MAX_CAPACITY = 2 ** 28;

/**
 * Called once per evicted sample, after the sample that evicted it has been
 * stored. Receives the evicted sample, never the new one. An exception thrown
 * by the callback does not reach `add()`; it is reported with
 * `process.emitWarning` and the store stays consistent.
 */
export type MetricDiscardCallback = (key: string, value: number, timestamp: number, partition: number) => void;

/** Options of {@link MetricStore.create}. Unknown option names are rejected. */
export interface MetricStoreOptions {
  /**
   * Total number of samples kept, split across partitions (the first
   * `capacity % partitions` partitions hold one more). Integer in
   * `[partitions, 2^28]`.
   */
  capacity: number;
  /**
   * Number of partitions, each an independent drop-oldest ring; a key always
   * routes to `partitionOf(key, partitions)` (stable FNV-1a hash).
   * **Default: 1**, so that eviction is exactly "oldest first" over the whole
   * store, identically on every machine. The store is single-threaded, so
   * more partitions buy no parallelism today; they isolate keys (a burst on
   * one key evicts only its own partition) and let per-key queries scan
   * `1/partitions` of the data.
   */
  partitions?: number;
  /** See {@link MetricDiscardCallback}. Leaving it unset keeps `add` fastest. */
  onDiscarded?: MetricDiscardCallback;
  /**
   * Most keys the store holds in memory at once, pins aside: keys with live
   * samples (at most `capacity`) plus idle ones (no live sample) not yet
   * forgotten. When a new key would pass it, the store sweeps: it scans the
   * live samples once and forgets every idle key, so sweeps run at most once
   * per `maxRememberedKeys - capacity` new keys. Lower saves memory, higher
   * sweeps less often; forgetting a key changes no query result. Keys pinned
   * by `keyId()` are not counted and never forgotten. Integer in
   * `[capacity + 1, 2^29]`; **default `max(2 · capacity, capacity + 1024)`**.
   */
  maxRememberedKeys?: number;
  /**
   * Makes the store durable (docs/metric-store.md, "Durability"): only with
   * {@link MetricStore.open}, which restores the data first; `create` refuses it.
   */
  durability?: MetricDurabilityOptions;
  /** Structured logger of a durable store (the restore, failed checkpoints); default: silent. */
  logger?: Logger;
}

/** The `durability` option of `MetricStore.open`: the same as `EventStore`'s, plus a test hook. */
export interface MetricDurabilityOptions extends DurabilityOptions {
  /**
   * File operations of the log, checkpoints and `meta.json` (default: Node's fs). For fault-injection
   * tests (`FaultIo` from `src/durability`); the directory lock is always taken on the real `dir`.
   */
  io?: Io;
}

/** Inclusive time range in ms epoch; a missing bound is unbounded. */
export interface TimeRange {
  from?: number;
  to?: number;
}

/** All five aggregates at once, see {@link MetricStore.aggregate}. */
export interface MetricAggregate {
  count: number;
  sum: number;
  /** `sum / count`, or 0 when nothing matched. */
  average: number;
  /** `null` when nothing matched. */
  min: number | null;
  /** `null` when nothing matched. */
  max: number | null;
}

/** One row of {@link MetricStore.top}. */
export interface TopEntry {
  key: string;
  /** Sum of the key's values in the range. */
  value: number;
}

/** Counters of one partition; `appended === live + discarded` always. */
export interface MetricPartitionStats {
  appended: number;
  discarded: number;
  live: number;
  capacity: number;
}

/** Counters of the store (sums over partitions) plus each partition's. */
export interface MetricStoreStats extends MetricPartitionStats {
  partitions: number;
  /** Keys with at least one live sample. */
  keys: number;
  /** Keys pinned by `keyId()` (with or without live samples). */
  pinnedKeys: number;
  /**
   * Keys the store holds in memory: live, pinned, or idle and not yet
   * forgotten. At most `maxRememberedKeys + pinnedKeys`.
   */
  rememberedKeys: number;
  /**
   * Size of the key-id space (ids of forgotten keys are reused, lowest
   * first): per-key queries (`top`, `keys`) allocate arrays of this size. At
   * most `maxRememberedKeys` plus the most keys ever pinned at once.
   */
  keyIdSpan: number;
  perPartition: MetricPartitionStats[];
}

export const OPTION_NAMES = new Set(['capacity', 'partitions', 'onDiscarded', 'maxRememberedKeys', 'durability', 'logger']);
/** Validates and fills `MetricStore` options (`RS_ERR_INVALID_OPTION`). */
export function validateOptions(options: MetricStoreOptions): {
  capacity: number;
  partitions: number;
  onDiscarded: MetricDiscardCallback | null;
  maxRememberedKeys: number;
} {
  if (typeof options !== 'object' || options === null) throw invalidOption('MetricStore options must be an object');
  const name = unknownKey(options, OPTION_NAMES);
  if (name !== undefined) throw invalidOption(`unknown MetricStore option "${name}"`, { option: name });
  const { capacity, partitions = 1, onDiscarded, maxRememberedKeys } = options;
  if (options.durability !== undefined) {
    throw invalidOption('a durable MetricStore opens with `await MetricStore.open(options)`: it restores its data first', { option: 'durability' });
  }
  if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > METRIC_MAX_CAPACITY) {
    throw invalidOption(`options.capacity must be an integer in [1, ${METRIC_MAX_CAPACITY}], got ${String(capacity)}`, {
      capacity,
    });
  }
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw invalidOption(`options.partitions must be a positive integer, got ${String(partitions)}`, { partitions });
  }
  if (capacity < partitions) {
    throw invalidOption(`options.capacity (${capacity}) must be at least options.partitions (${partitions})`, {
      capacity,
      partitions,
    });
  }
  if (onDiscarded !== undefined && typeof onDiscarded !== 'function') {
    throw invalidOption('options.onDiscarded must be a function');
  }
  checkLogger(options.logger);
  const maxRemembered = 2 * METRIC_MAX_CAPACITY;
  if (
    maxRememberedKeys !== undefined &&
    (!Number.isSafeInteger(maxRememberedKeys) || maxRememberedKeys <= capacity || maxRememberedKeys > maxRemembered)
  ) {
    throw invalidOption(
      `options.maxRememberedKeys must be an integer in [capacity + 1, ${maxRemembered}] = [${capacity + 1}, ${maxRemembered}], got ${String(maxRememberedKeys)}`,
      { maxRememberedKeys, capacity },
    );
  }
  return {
    capacity,
    partitions,
    onDiscarded: onDiscarded ?? null,
    maxRememberedKeys: maxRememberedKeys ?? Math.max(2 * capacity, capacity + 1024),
  };
}

const RANGE_KEYS = keySet<TimeRange>({ from: 1, to: 1 });

/**
 * Throws `RS_ERR_INVALID_ARGUMENT` for a key of a `{ from?, to? }` range other than those two: a
 * misspelt end (`form`) would otherwise leave the range open and answer over every event.
 */
export function refuseOtherRangeKeys(range: object): void {
  const k = unknownKey(range, RANGE_KEYS);
  if (k !== undefined) throw invalidArgument(`range.${k} is not a range option (use from, to)`, { key: k });
}

/** `{ from?, to? }` to inclusive bounds (`RS_ERR_INVALID_ARGUMENT` for a non-number end or another key). */
export function parseRange(range: TimeRange | undefined): [number, number] {
  if (range === undefined) return [-Infinity, Infinity];
  if (typeof range !== 'object' || range === null) throw invalidArgument('range must be an object { from?, to? }');
  refuseOtherRangeKeys(range);
  const { from = -Infinity, to = Infinity } = range;
  if (typeof from !== 'number' || Number.isNaN(from)) throw invalidArgument(`range.from must be a number, got ${String(from)}`);
  if (typeof to !== 'number' || Number.isNaN(to)) throw invalidArgument(`range.to must be a number, got ${String(to)}`);
  return [from, to];
}

/**
 * Longest key, in UTF-16 units (as `EventStore` keys and the daemon's labels):
 * remembered keys are kept in memory, and a durable store journals each, so a
 * key's size must be bounded for `maxRememberedKeys` to bound memory.
 */
export const MAX_METRIC_KEY = 1024;

/** Whether `key` is a key a metric store takes: a non-empty string of at most {@link MAX_METRIC_KEY} units. */
export function isMetricKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_METRIC_KEY;
}

/** The error for a key that is not {@link isMetricKey}. */
export function badKey(key: unknown, index?: number): RingstoreError {
  const at = index === undefined ? '' : ` at index ${index}`;
  const got = typeof key !== 'string' ? typeof key : key.length === 0 ? '""' : `${key.length} characters`;
  return invalidArgument(`key${at} must be a non-empty string of at most ${MAX_METRIC_KEY} characters, got ${got}`, {
    index,
  });
}

/** The error for a non-finite value or timestamp. */
export function nonFinite(value: unknown, timestamp: unknown, index?: number): RingstoreError {
  const at = index === undefined ? '' : ` at index ${index}`;
  const what = Number.isFinite(value) ? `timestamp ${String(timestamp)}` : `value ${String(value)}`;
  return new RingstoreError('RS_ERR_NON_FINITE', `${what}${at} is not a finite number`, { index });
}

/** Validates an id argument of `keyOf` / `releaseKeyId` (`RS_ERR_INVALID_ARGUMENT`). */
export function checkId(id: unknown): void {
  if (!Number.isSafeInteger(id) || (id as number) < 0) {
    throw invalidArgument(`key id must be a non-negative safe integer, got ${String(id)}`, { id });
  }
}

/** The error of `addById` for an id that is not a current pin. */
export function staleId(id: unknown): RingstoreError {
  if (!Number.isSafeInteger(id) || (id as number) < 0) {
    return invalidArgument(`key id must be a non-negative safe integer, got ${String(id)}`, { id });
  }
  return invalidArgument(`key id ${String(id)} is not pinned: released, or never returned by keyId()`, { id });
}

/**
 * Validates the columns of `addMany` (lengths, keys, values, timestamps) and
 * throws the first error; nothing is stored when it throws.
 */
export function checkColumns(keys: ArrayLike<string>, values: ArrayLike<number>, timestamps: ArrayLike<number> | undefined): void {
  const n = keys.length;
  if (values.length !== n || (timestamps !== undefined && timestamps.length !== n)) {
    throw invalidArgument('addMany: keys, values and timestamps must have the same length', {
      keys: n,
      values: values.length,
      timestamps: timestamps?.length,
    });
  }
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    if (!isMetricKey(key)) throw badKey(key, i);
    const ts = timestamps === undefined ? 0 : timestamps[i];
    if (!Number.isFinite(values[i]) || !Number.isFinite(ts)) throw nonFinite(values[i], ts, i);
  }
}
