import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { invalidOption } from '../errors.js';
import type { PartitionDurability } from '../partition/partition-log.js';
import { partitionOffsets, type PartitionGeometry } from '../ring/layout.js';
import { REC_HEADER_BYTES } from '../ring/record.js';
import { keySet, unknownKey } from '../known-keys.js';
import type { StoredEvent } from './types.js';

/** A selector: a property path (`'amount'`, `'meta.ts'`) or a function of the event. */
export type Selector<T, R> = string | ((event: T) => R);

/** Time-bucket window served in O(buckets) by `windowAggregate`. */
export interface WindowOptions {
  /** Window length in ms. */
  sizeMs: number;
  /** Bucket width in ms (default `sizeMs / 60`, at least 1). Must divide `sizeMs`. */
  bucketMs?: number;
}

/**
 * Options of {@link EventStore.create}. Every size is validated at create time.
 * `T` is the event type; `V` the names of the declared `values`, inferred from
 * the `values` object when `T` is inferred too (see {@link EventStore.create}).
 */
export interface EventStoreOptions<T, V extends string = string> {
  /** Total events kept, split evenly across partitions (default 65,536 per partition). */
  capacity?: number;
  /** Partition (and worker thread) count; default `os.availableParallelism()`. */
  partitions?: number;
  /**
   * Total arena bytes for stored events (id, key, type and JSON), split across partitions (default 256 bytes
   * per event of capacity). When events are larger on average, the arena fills before the slots and the
   * oldest events are evicted to make room (reported like slot evictions, with reason `'bytes'`).
   * A partition's shared buffer (its arena, slot columns and tables) is at most 4 GiB: beyond,
   * `RS_ERR_INVALID_OPTION` (use more partitions).
   */
  payloadBytes?: number;
  /**
   * Largest encoded event (JSON bytes) accepted (default min(64 KiB, arena per partition - 32)). An event
   * must also fit in a partition's arena together with its id, key and type, or it is refused with
   * `RS_ERR_EVENT_TOO_LARGE`: an event is stored whole or not at all.
   */
  maxEventBytes?: number;
  /** Routing key; events without a key are spread round-robin. */
  key?: Selector<T, string | number>;
  /** Event time in ms since the epoch, within ±8.64e15 (a Date's range; beyond: `RS_ERR_INVALID_ARGUMENT`); default the append time. */
  timestamp?: Selector<T, number>;
  /** Event type used by `where.type` filters; default `event.type` when it is a string. */
  type?: Selector<T, string>;
  /** Named numeric values, extracted once at append and stored as columns. Queries name them (`sum('amount')`). */
  values?: Record<V, Selector<T, number>>;
  /** Time-bucket window for O(buckets) window aggregates. */
  window?: WindowOptions;
  /**
   * Caller-supplied event ids remembered per partition for idempotency (default 100,000): a retry with an id
   * among the last `dedupWindow` ids of its partition is answered with the first result. Ids are scoped by
   * key. The window lives in shared memory, so a worker restart keeps it (about 40 bytes per id).
   */
  dedupWindow?: number;
  /**
   * Keys with no live event left whose last version is remembered, in total (default: `capacity`). A key
   * written again later continues from its version; a key forgotten beyond this bound (the one that went
   * quiet longest ago goes first) starts again at version 1. About 16 bytes per key, in shared memory.
   */
  dormantKeys?: number;
  /** Producer slots: the coordinator plus attached producers (default 16). */
  maxProducers?: number;
  /** Input ring bytes per partition, a power of two (default 1 MiB, at least 4 max-size records). */
  inputBytes?: number;
  /** Receives evicted events, in batches, oldest first. Exceptions (and an async callback's rejections) are caught and logged. */
  onDiscarded?: (events: StoredEvent<T>[]) => void;
  /**
   * With `onDiscarded`: receives the positions of events a drain evicted just before its worker died whose
   * bytes the same drain overwrote, so no copy of them is left (found when the worker restarts; the others
   * such a drain evicted go to `onDiscarded` whole). Every evicted event reaches one of the two.
   */
  onDiscardedLost?: (lost: { partition: number; positions: number[] }) => void;
  /**
   * Fires once each time a partition becomes full (and again after a purge or clear made room): when its
   * slots are all live (`reason: 'slots'`), or when its arena must evict a live event to make room for a new
   * one before the slots are full (`reason: 'bytes'`: events are larger than `payloadBytes / capacity`).
   */
  onCapacityReached?: (info: CapacityInfo) => void;
  /** Structured logger (default: silent). */
  logger?: Logger;
  /** A name for logs and worker thread names (`rs-<name>-p<N>` in `top -H`); default `store`. */
  name?: string;
  /**
   * Makes the store durable: every committed drain is written to a log per partition in `dir` before its
   * appends are acknowledged, and restored by `EventStore.open` (a durable store opens with `open`, not
   * `create`). See docs/durability.md.
   */
  durability?: DurabilityOptions;
}

/** The `durability` option. */
export interface DurabilityOptions {
  /** Data directory (one per store; locked while open). */
  dir: string;
  /**
   * `'always'`: an ack means fsynced (one fdatasync per drain: group commit). `'interval'` (default): written,
   * fsynced within `intervalMs` (like Redis `everysec`). `'never'`: written; the OS flushes when it likes.
   * Every mode survives a process crash; only `'always'` survives a power loss with nothing acknowledged lost.
   */
  fsync?: 'always' | 'interval' | 'never';
  /** Most ms between fsyncs under `'interval'` (default 1000). */
  intervalMs?: number;
  /** Log segment size in bytes (default 16 MiB). */
  segmentBytes?: number;
  /**
   * A checkpoint (an image of each partition's memory) at least this often while there are writes, in ms
   * (default 30,000), and at close. A ring store also writes one as soon as its log since the last holds four
   * images' worth of bytes (a MetricStore: `capacity` samples), so the disk is bounded by the geometry.
   */
  checkpointIntervalMs?: number;
  /** Restore a damaged log by cutting it where it is damaged (keeps `.broken` copies). Default false: refuse to open. */
  repair?: boolean;
}

/** What `onCapacityReached` receives. */
export interface CapacityInfo {
  partition: number;
  /** Slots of the partition. */
  capacity: number;
  /** What filled up: every slot holds a live event, or the arena bytes ran out first. */
  reason: 'slots' | 'bytes';
}

/** Options after validation and defaults: what the store and its workers run on. */
export interface ResolvedOptions<T> {
  partitions: number;
  capacityPerPartition: number;
  arenaPerPartition: number;
  maxEventBytes: number;
  inputBytes: number;
  maxProducers: number;
  ackCapacity: number;
  dedupWindow: number;
  dormantKeysPerPartition: number;
  valueNames: string[];
  window: { sizeMs: number; bucketMs: number; buckets: number } | null;
  selectors: {
    key: Selector<T, string | number> | undefined;
    timestamp: Selector<T, number> | undefined;
    type: Selector<T, string> | undefined;
    values: Selector<T, number>[];
  };
  onDiscarded: ((events: StoredEvent<T>[]) => void) | undefined;
  onDiscardedLost: ((lost: { partition: number; positions: number[] }) => void) | undefined;
  onCapacityReached: ((info: CapacityInfo) => void) | undefined;
  logger: Logger | undefined;
  name: string;
  durability: Required<DurabilityOptions> | null;
}

const isPositiveInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;
const isPow2 = (n: number): boolean => (n & (n - 1)) === 0;
const MAX_SLOTS = 1 << 28;
const ACK_CAPACITY = 8192;
/** Arena bytes an event needs besides its JSON, at least: a generated id (26) and alignment. */
const ARENA_OVERHEAD = 32;
/**
 * Largest shared buffer of one partition: the worker views it whole as one Uint8Array, which Node 20 caps at
 * 4 GiB (`buffer.constants.MAX_LENGTH`); 256 partitions of it are the 2^40 bytes `payloadBytes` allows.
 */
const MAX_PARTITION_BYTES = 2 ** 32;

function checkInt(name: string, value: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (!isPositiveInt(value) || value < min || value > max) {
    throw invalidOption(`options.${name} must be an integer between ${min} and ${max}, got ${String(value)}`, {
      option: name,
      value,
    });
  }
}

const OPTION_NAMES = keySet<EventStoreOptions<unknown>>({
  capacity: 1, partitions: 1, payloadBytes: 1, maxEventBytes: 1, key: 1, timestamp: 1, type: 1, values: 1, window: 1, dedupWindow: 1,
  dormantKeys: 1, maxProducers: 1, inputBytes: 1, onDiscarded: 1, onDiscardedLost: 1, onCapacityReached: 1, logger: 1, name: 1, durability: 1,
});
/** The keys of {@link DurabilityOptions}. */
export const DURABILITY_NAMES = keySet<DurabilityOptions>({ dir: 1, fsync: 1, intervalMs: 1, segmentBytes: 1, checkpointIntervalMs: 1, repair: 1 });
const WINDOW_NAMES = keySet<WindowOptions>({ sizeMs: 1, bucketMs: 1 });

/**
 * Refuses a key that is not an option (`RS_ERR_INVALID_OPTION`, naming it): a misspelt one
 * (`capcity`, `fsnyc`) would otherwise be ignored and its default used, silently, durability included.
 */
export function checkKnownOptions(what: string, o: object, known: ReadonlySet<string>): void {
  const name = unknownKey(o, known);
  if (name !== undefined) throw invalidOption(`${what}.${name} is not an option (known: ${[...known].join(', ')})`, { option: `${what}.${name}` });
}

/**
 * Refuses a `logger` that lacks what the store calls: the first call was made by a worker's event handler,
 * outside any call of the caller, and its TypeError ended the process.
 */
export function checkLogger(logger: unknown): void {
  if (logger === undefined) return;
  const l = logger as Partial<Record<'info' | 'warn' | 'error', unknown>> | null;
  if (l === null || typeof l !== 'object' || typeof l.info !== 'function' || typeof l.warn !== 'function' || typeof l.error !== 'function') {
    throw invalidOption('options.logger must be a pino logger (with info, warn and error)', { option: 'logger' });
  }
}

function checkSelector(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value === 'function') return;
  if (typeof value === 'string' && value.length > 0) return;
  throw invalidOption(`options.${name} must be a property path or a function`, { option: name });
}

/**
 * Validates the `durability` option (of an `EventStore` or a `MetricStore`) and fills its defaults;
 * null when it is not given. Throws `RS_ERR_INVALID_OPTION`.
 */
export function resolveDurability(d: DurabilityOptions | undefined, known: ReadonlySet<string> = DURABILITY_NAMES): Required<DurabilityOptions> | null {
  if (d === undefined) return null;
  if (d === null || typeof d !== 'object') throw invalidOption('options.durability must be an object with a dir', { option: 'durability' });
  checkKnownOptions('options.durability', d, known);
  if (typeof d.dir !== 'string' || d.dir.length === 0) throw invalidOption('options.durability.dir must be a non-empty string', { option: 'durability.dir' });
  const fsync = d.fsync ?? 'interval';
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'never') {
    throw invalidOption("options.durability.fsync must be 'always', 'interval' or 'never'", { option: 'durability.fsync' });
  }
  checkInt('durability.intervalMs', d.intervalMs, 1, 3_600_000);
  checkInt('durability.segmentBytes', d.segmentBytes, 4096, 2 ** 31);
  checkInt('durability.checkpointIntervalMs', d.checkpointIntervalMs, 100, 86_400_000);
  if (d.repair !== undefined && typeof d.repair !== 'boolean') throw invalidOption('options.durability.repair must be a boolean', { option: 'durability.repair' });
  return Object.freeze({
    dir: d.dir,
    fsync,
    intervalMs: d.intervalMs ?? 1000,
    segmentBytes: d.segmentBytes ?? 16 * 1024 * 1024,
    checkpointIntervalMs: d.checkpointIntervalMs ?? 30_000,
    repair: d.repair ?? false,
  });
}

/** Validates options, fills defaults, and freezes the result. Throws `RS_ERR_INVALID_OPTION`. */
export function resolveOptions<T>(options: EventStoreOptions<T> = {}): ResolvedOptions<T> {
  if (options === null || typeof options !== 'object') throw invalidOption('options must be an object');
  checkKnownOptions('options', options, OPTION_NAMES);
  checkInt('partitions', options.partitions, 1, 256);
  checkInt('capacity', options.capacity, 1, MAX_SLOTS);
  checkInt('payloadBytes', options.payloadBytes, 1, 2 ** 40);
  checkInt('maxEventBytes', options.maxEventBytes, 1, 1 << 26);
  checkInt('dedupWindow', options.dedupWindow, 1, 1 << 26);
  if (options.dormantKeys !== undefined && options.dormantKeys !== 0) checkInt('dormantKeys', options.dormantKeys, 1, 1 << 28);
  checkInt('maxProducers', options.maxProducers, 1, 1024);
  checkInt('inputBytes', options.inputBytes, 4096, 1 << 30);
  if (options.inputBytes !== undefined && !isPow2(options.inputBytes)) {
    throw invalidOption('options.inputBytes must be a power of two', { option: 'inputBytes' });
  }
  checkSelector('key', options.key);
  checkSelector('timestamp', options.timestamp);
  checkSelector('type', options.type);
  const values = options.values ?? {};
  if (values === null || typeof values !== 'object') throw invalidOption('options.values must be an object');
  const valueNames = Object.keys(values);
  for (const name of valueNames) checkSelector(`values.${name}`, values[name]);
  // Each event's `values` is a plain object: assigning "__proto__" would set its prototype, and lose the value.
  if (Object.hasOwn(values, '__proto__')) throw invalidOption('options.values cannot declare a value named "__proto__"', { option: 'values.__proto__' });
  if (options.onDiscarded !== undefined && typeof options.onDiscarded !== 'function') {
    throw invalidOption('options.onDiscarded must be a function');
  }
  if (options.onDiscardedLost !== undefined && typeof options.onDiscardedLost !== 'function') {
    throw invalidOption('options.onDiscardedLost must be a function');
  }
  if (options.onDiscardedLost !== undefined && options.onDiscarded === undefined) {
    throw invalidOption('options.onDiscardedLost needs onDiscarded (without it no evicted event is copied)');
  }
  if (options.onCapacityReached !== undefined && typeof options.onCapacityReached !== 'function') {
    throw invalidOption('options.onCapacityReached must be a function');
  }
  checkLogger(options.logger);
  if (options.name !== undefined && (typeof options.name !== 'string' || !/^[\w.-]{1,32}$/.test(options.name))) {
    throw invalidOption('options.name must be 1 to 32 letters, digits, _, . or -', { option: 'name' });
  }

  const partitions = options.partitions ?? os.availableParallelism();
  const capacity = options.capacity ?? 65_536 * partitions;
  if (capacity < partitions) {
    throw invalidOption(`options.capacity (${capacity}) must be at least options.partitions (${partitions})`, {
      option: 'capacity',
    });
  }
  // Rounded up, so the store holds at least what was asked; stats report the effective total.
  const capacityPerPartition = Math.ceil(capacity / partitions);
  const payloadBytes = options.payloadBytes ?? capacity * 256;
  // A multiple of 8: arena records start 4-byte aligned (slot checksums sum words).
  const arenaPerPartition = Math.floor(payloadBytes / partitions / 8) * 8;
  const maxEventBytes = options.maxEventBytes ?? Math.min(64 * 1024, arenaPerPartition - ARENA_OVERHEAD);
  if (arenaPerPartition < 64 || maxEventBytes + ARENA_OVERHEAD > arenaPerPartition) {
    throw invalidOption(
      `options.payloadBytes gives ${arenaPerPartition} arena bytes per partition, too small for one event of maxEventBytes (${maxEventBytes}) with its id; each partition needs at least 64 and at least maxEventBytes + ${ARENA_OVERHEAD}`,
      { option: 'payloadBytes' },
    );
  }
  // A record may claim up to 3 bytes per UTF-16 unit before encoding; keep room for 4 of them.
  const maxRecord = REC_HEADER_BYTES + valueNames.length * 8 + 3 * maxEventBytes + 1024;
  let inputBytes = options.inputBytes ?? 1 << 20;
  if (options.inputBytes === undefined) while (inputBytes < 4 * maxRecord) inputBytes *= 2;
  if (inputBytes < 4 * maxRecord) {
    throw invalidOption(`options.inputBytes (${inputBytes}) must hold at least 4 records of maxEventBytes (${4 * maxRecord})`, {
      option: 'inputBytes',
    });
  }

  const maxProducers = options.maxProducers ?? 16;
  const dedupWindow = options.dedupWindow ?? 100_000;
  const dormantKeysPerPartition = Math.ceil((options.dormantKeys ?? capacity) / partitions);
  const partitionBytes = partitionOffsets(geometryOf({
    capacityPerPartition, arenaPerPartition, inputBytes, valueNames, maxProducers, ackCapacity: ACK_CAPACITY, dedupWindow, dormantKeysPerPartition,
  })).total;
  if (partitionBytes > MAX_PARTITION_BYTES) {
    throw invalidOption(
      `options.capacity, payloadBytes and the tables give each partition ${partitionBytes} bytes of shared memory, more than ${MAX_PARTITION_BYTES}: lower them or use more partitions`,
      { option: 'capacity', partitionBytes },
    );
  }

  let window: ResolvedOptions<T>['window'] = null;
  if (options.window !== undefined) {
    const w = options.window;
    if (w === null || typeof w !== 'object') throw invalidOption('options.window must be an object');
    checkKnownOptions('options.window', w, WINDOW_NAMES);
    checkInt('window.sizeMs', w.sizeMs);
    const bucketMs = w.bucketMs ?? Math.max(1, Math.floor(w.sizeMs / 60));
    checkInt('window.bucketMs', bucketMs);
    if (bucketMs > w.sizeMs || w.sizeMs % bucketMs !== 0) {
      throw invalidOption('options.window.bucketMs must divide options.window.sizeMs', { option: 'window.bucketMs' });
    }
    const buckets = w.sizeMs / bucketMs;
    if (buckets > 65_536) throw invalidOption('options.window has more than 65,536 buckets', { option: 'window' });
    window = { sizeMs: w.sizeMs, bucketMs, buckets };
  }

  const durability = resolveDurability(options.durability);

  return Object.freeze({
    partitions,
    capacityPerPartition,
    arenaPerPartition,
    maxEventBytes,
    inputBytes,
    maxProducers,
    ackCapacity: ACK_CAPACITY,
    dedupWindow,
    dormantKeysPerPartition,
    valueNames,
    window,
    selectors: Object.freeze({
      key: options.key,
      timestamp: options.timestamp,
      type: options.type,
      values: valueNames.map((n) => values[n]),
    }),
    onDiscarded: options.onDiscarded,
    onDiscardedLost: options.onDiscardedLost,
    onCapacityReached: options.onCapacityReached,
    logger: options.logger,
    name: options.name ?? 'store',
    durability,
  });
}

/** The memory geometry of each partition. */
export function geometryOf(
  o: Pick<ResolvedOptions<unknown>, 'capacityPerPartition' | 'arenaPerPartition' | 'inputBytes' | 'valueNames' | 'maxProducers' | 'ackCapacity' | 'dedupWindow' | 'dormantKeysPerPartition'>,
): PartitionGeometry {
  return {
    capacity: o.capacityPerPartition,
    arenaBytes: o.arenaPerPartition,
    inputBytes: o.inputBytes,
    valueCount: o.valueNames.length,
    maxProducers: o.maxProducers,
    ackCapacity: o.ackCapacity,
    dedupWindow: o.dedupWindow,
    dormantKeys: o.dormantKeysPerPartition,
  };
}

/** Partition `i`'s share of a store's durability options. */
export function partitionDurability(d: NonNullable<ResolvedOptions<unknown>['durability']>, i: number): PartitionDurability {
  return {
    dir: path.join(path.resolve(d.dir), `p${i}`),
    fsync: d.fsync,
    intervalMs: d.intervalMs,
    segmentBytes: d.segmentBytes,
    checkpointIntervalMs: d.checkpointIntervalMs,
    repair: d.repair,
  };
}
