/**
 * `MetricStore`: the numeric fast path of ringstore (the reference's
 * `EventStoreV2` / `SpecializedEventStore`). Samples are `(key, value,
 * timestamp)` triples kept in fixed-size columns, with no payload; each
 * partition is a drop-oldest ring.
 *
 * See `docs/metric-store.md` for a guide and `metric-layout.ts` for the
 * memory layout.
 * @module
 */
import { reportRejection } from './callback-result.js';
import { invalidArgument } from '../errors.js';
import type { DurableMetricStore } from './durable-metric-store.js';
import { metricInternals } from './metric-internals.js';
import {
  badKey,
  isMetricKey,
  checkColumns,
  checkId,
  nonFinite,
  staleId,
  parseRange,
  validateOptions,
  type MetricAggregate,
  type MetricDiscardCallback,
  type MetricPartitionStats,
  type MetricStoreOptions,
  type MetricStoreStats,
  type TimeRange,
  type TopEntry,
} from './metric-types.js';
import { partitionOf } from '../partition/hash.js';
import { MetricKeyTable } from './metric-keys.js';
import { ACC_COUNT, ACC_MAX, ACC_MIN, ACC_SUM, MetricColumns, acc, scanMinMax, scanSum, type ScanKernel } from './metric-layout.js';
import { selectTop } from './top-order.js';

export { METRIC_MAX_CAPACITY } from './metric-types.js';
export type {
  MetricAggregate,
  MetricDiscardCallback,
  MetricDurabilityOptions,
  MetricPartitionStats,
  MetricStoreOptions,
  MetricStoreStats,
  TimeRange,
  TopEntry,
} from './metric-types.js';

/**
 * A fixed-capacity, partitioned, drop-oldest store of numeric samples.
 *
 * @example
 * ```ts
 * const store = MetricStore.create({ capacity: 100_000, partitions: 4 });
 * store.add('cpu', 0.42);                     // timestamp: Date.now()
 * store.add('cpu', 0.57, Date.parse('2025-01-01T00:00:00Z'));
 * store.average('cpu', { from: Date.now() - 60_000 });
 * store.top(3);                               // [{ key, value: sum }]
 * ```
 */
export class MetricStore {
  readonly #partitions: number;
  readonly #capacity: number;
  /** The shared buffer's views (see `metric-layout.ts`); the fields below are its views, for the hot paths. */
  readonly #cols: MetricColumns;
  readonly #appended: Float64Array;
  readonly #cursor: Int32Array;
  readonly #times: Float64Array;
  readonly #values: Float64Array;
  readonly #keys: Int32Array;
  readonly #start: Int32Array;
  readonly #end: Int32Array;
  readonly #cap: Int32Array;
  /** Remembered keys and pins (metric-keys.ts); the fields below are its arrays, for the hot paths. */
  readonly #table = new MetricKeyTable();
  readonly #ids = this.#table.ids;
  readonly #names = this.#table.names;
  readonly #keyPartition = this.#table.part;
  readonly #handles = this.#table.handles;
  /** `maxRememberedKeys`: the most unpinned keys remembered; a new key past it sweeps first. */
  readonly #sweepAt: number;
  readonly #onDiscarded: MetricDiscardCallback | null;

  /** Validates `options` (throws `RS_ERR_INVALID_OPTION`) and allocates the buffer. */
  constructor(options: MetricStoreOptions) {
    const { capacity, partitions, onDiscarded, maxRememberedKeys } = validateOptions(options);
    this.#partitions = partitions;
    this.#capacity = capacity;
    this.#sweepAt = maxRememberedKeys;
    this.#onDiscarded = onDiscarded;
    const cols = new MetricColumns(capacity, partitions);
    this.#cols = cols;
    this.#appended = cols.appended;
    this.#cursor = cols.cursor;
    this.#times = cols.times;
    this.#values = cols.values;
    this.#keys = cols.keys;
    this.#start = cols.start;
    this.#end = cols.end;
    this.#cap = cols.cap;
    metricInternals.set(this, {
      cols,
      table: this.#table,
      addJournaled: (key, value, ts) => this.#add(key, value, ts),
      keyIdJournaled: (key) => this.#pin(key),
    });
  }

  /** Creates an in-memory store; same as `new MetricStore(options)`. */
  static create(options: MetricStoreOptions): MetricStore {
    return new MetricStore(options);
  }

  /**
   * Opens a durable store (the `durability` option is required): locks the
   * directory, checks its configuration, restores the checkpoint and log, and
   * resolves with a {@link DurableMetricStore} whose writes resolve once
   * written. See docs/metric-store.md, "Durability".
   */
  static async open(options: MetricStoreOptions): Promise<DurableMetricStore> {
    const { DurableMetricStore } = await import('./durable-metric-store.js');
    return DurableMetricStore.open(options);
  }

  /** Number of partitions. */
  get partitions(): number {
    return this.#partitions;
  }

  /** Total capacity in samples (exactly the `capacity` option). */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Stores one sample, evicting the oldest sample of the key's partition when
   * that partition is full. Allocation-free once the key has been seen.
   *
   * @param key non-empty string (`RS_ERR_INVALID_ARGUMENT` otherwise)
   * @param value finite number (`RS_ERR_NON_FINITE` otherwise)
   * @param timestamp finite ms epoch (`RS_ERR_NON_FINITE` otherwise); default `Date.now()`
   * On any error nothing is stored.
   */
  add(key: string, value: number, timestamp?: number): void {
    if (!isMetricKey(key)) throw badKey(key);
    this.#add(key, value, timestamp);
  }

  /** {@link add} past the key check (a journal's operations passed it when the build that wrote them queued them). */
  #add(key: string, value: number, timestamp: number | undefined): void {
    const ts = timestamp === undefined ? Date.now() : timestamp;
    if (!Number.isFinite(value) || !Number.isFinite(ts)) throw nonFinite(value, ts);
    let id = this.#ids.get(key);
    if (id === undefined) id = this.#intern(key);
    this.#write(id, value, ts);
  }

  /**
   * Pins `key` and returns its id, for {@link addById}. A pinned key is
   * remembered (it keeps its id) even with no live sample, across `clear()`
   * too, until {@link releaseKeyId}; calling `keyId` again for a pinned key
   * returns the same id. Ids are non-negative safe integers, small for a
   * slot's first pin but not always 32-bit (keep them in an array or a
   * `Float64Array`, not an `Int32Array`); each is issued once, so a released
   * id is refused by `addById`, never taken for another key. Pin a bounded
   * set of hot keys: each pin holds its key in memory until released.
   */
  keyId(key: string): number {
    if (!isMetricKey(key)) throw badKey(key);
    return this.#pin(key);
  }

  /** {@link keyId} past the key check (as {@link #add}). */
  #pin(key: string): number {
    const table = this.#table;
    let slot = this.#ids.get(key);
    if (slot === undefined) {
      slot = table.intern(key, partitionOf(key, this.#partitions));
    } else {
      const pinned = this.#handles[slot];
      if (pinned >= 0) return pinned;
      if (table.exhausted(slot)) slot = this.#move(slot);
    }
    return table.pin(slot);
  }

  /**
   * Releases the pin of an id from {@link keyId}: the id is invalid from now
   * on, and the key is forgotten once it has no live sample. Returns `false`
   * if `id` is not a current pin (already released, or never issued).
   */
  releaseKeyId(id: number): boolean {
    checkId(id);
    const table = this.#table;
    const slot = table.slotOf(id);
    if (slot < 0) return false;
    table.unpin(slot);
    if (table.unpinned > this.#sweepAt) this.#sweep();
    return true;
  }

  /** The key of a current pin id from {@link keyId}, or `undefined` (released or never issued). */
  keyOf(id: number): string | undefined {
    checkId(id);
    const slot = this.#table.slotOf(id);
    return slot < 0 ? undefined : this.#names[slot];
  }

  /**
   * {@link add} for an id from {@link keyId}: skips the string lookup, for
   * the hottest loops. An id that is not a current pin (released, never
   * issued, not a number) throws `RS_ERR_INVALID_ARGUMENT`.
   */
  addById(id: number, value: number, timestamp?: number): void {
    // One test validates the id: only a current pin equals the handle of its slot.
    const slot = id | 0;
    if (this.#handles[slot] !== id) throw staleId(id);
    const ts = timestamp === undefined ? Date.now() : timestamp;
    if (!Number.isFinite(value) || !Number.isFinite(ts)) throw nonFinite(value, ts);
    this.#write(slot, value, ts);
  }

  /**
   * Stores `keys.length` samples given as columns, in order. Everything is
   * validated first: if any key, value or timestamp is invalid, or the
   * lengths differ, it throws and stores nothing. A missing `timestamps`
   * column means one `Date.now()` for the whole batch.
   */
  addMany(keys: ArrayLike<string>, values: ArrayLike<number>, timestamps?: ArrayLike<number>): void {
    checkColumns(keys, values, timestamps);
    const n = keys.length;
    const now = timestamps === undefined ? Date.now() : 0;
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      let id = this.#ids.get(key);
      if (id === undefined) id = this.#intern(key);
      this.#write(id, values[i], timestamps === undefined ? now : timestamps[i]);
    }
  }

  /**
   * Remembers a new key about to get a sample, sweeping first if one more
   * unpinned key would pass `maxRememberedKeys`.
   */
  #intern(key: string): number {
    if (this.#table.unpinned >= this.#sweepAt) this.#sweep();
    return this.#table.intern(key, partitionOf(key, this.#partitions));
  }

  /** Forgets every unpinned key with no live sample (their slots are reused). */
  #sweep(): void {
    this.#table.forgetUnmarked(this.#cols.markLive(this.#table.span).marks);
  }

  /** Moves a key whose slot ran out of generations to a fresh slot, column included. */
  #move(slot: number): number {
    const fresh = this.#table.move(slot);
    this.#cols.rewriteKey(this.#keyPartition[fresh], slot, fresh);
    return fresh;
  }

  #write(id: number, value: number, ts: number): void {
    const p = this.#keyPartition[id];
    let c = this.#cursor[p];
    if (this.#onDiscarded !== null && this.#appended[p] >= this.#cap[p]) {
      this.#writeEvicting(p, c, id, value, ts);
      return;
    }
    this.#keys[c] = id;
    this.#values[c] = value;
    this.#times[c] = ts;
    if (++c === this.#end[p]) c = this.#start[p];
    this.#cursor[p] = c;
    this.#appended[p]++;
  }

  /** The slow path of {@link #write}: only with `onDiscarded`, only when full. */
  #writeEvicting(p: number, c: number, id: number, value: number, ts: number): void {
    const oldKey = this.#names[this.#keys[c]];
    const oldValue = this.#values[c];
    const oldTs = this.#times[c];
    this.#keys[c] = id;
    this.#values[c] = value;
    this.#times[c] = ts;
    this.#cursor[p] = c + 1 === this.#end[p] ? this.#start[p] : c + 1;
    this.#appended[p]++;
    try {
      reportRejection((this.#onDiscarded as MetricDiscardCallback)(oldKey, oldValue, oldTs, p), warnCallback);
    } catch (err) {
      warnCallback(err);
    }
  }

  /** Number of live samples (of `key`, if given) with timestamp in the range. */
  count(key?: string | TimeRange, range?: TimeRange): number {
    return this.#sumScan(key, range) ? acc[ACC_COUNT] : 0;
  }

  /** Sum of the matching values; 0 when nothing matches. */
  sum(key?: string | TimeRange, range?: TimeRange): number {
    return this.#sumScan(key, range) ? acc[ACC_SUM] : 0;
  }

  /** Mean of the matching values; 0 when nothing matches (as the reference). */
  average(key?: string | TimeRange, range?: TimeRange): number {
    if (!this.#sumScan(key, range)) return 0;
    const n = acc[ACC_COUNT];
    return n === 0 ? 0 : acc[ACC_SUM] / n;
  }

  /** Smallest matching value, or `null` when nothing matches. */
  min(key?: string | TimeRange, range?: TimeRange): number | null {
    return this.#minMaxScan(key, range) && acc[ACC_COUNT] > 0 ? acc[ACC_MIN] : null;
  }

  /** Largest matching value, or `null` when nothing matches. */
  max(key?: string | TimeRange, range?: TimeRange): number | null {
    return this.#minMaxScan(key, range) && acc[ACC_COUNT] > 0 ? acc[ACC_MAX] : null;
  }

  /** count, sum, average, min and max (same values as the single methods). */
  aggregate(key?: string | TimeRange, range?: TimeRange): MetricAggregate {
    const count = this.count(key, range);
    if (count === 0) return { count: 0, sum: 0, average: 0, min: null, max: null };
    const sum = acc[ACC_SUM];
    this.#minMaxScan(key, range);
    return { count, sum, average: sum / count, min: acc[ACC_MIN], max: acc[ACC_MAX] };
  }

  /**
   * The `k` keys with the largest sums in the range, in top-order.ts's order (descending, ties by key in
   * code-unit order, an overflowed sum +Infinity first, -Infinity last). Keys with no sample are left out.
   * `k` must be a non-negative integer.
   */
  top(k: number, range?: TimeRange): TopEntry[] {
    if (!Number.isSafeInteger(k) || k < 0) throw invalidArgument(`top: k must be a non-negative integer, got ${String(k)}`, { k });
    const [from, to] = parseRange(range);
    const n = this.#table.span;
    const { sums, counts } = this.#cols.sumsByKey(n, from, to);
    const rows: TopEntry[] = [];
    for (let id = 0; id < n; id++) if (counts[id] > 0) rows.push({ key: this.#names[id], value: sums[id] });
    return selectTop(rows, k);
  }

  /** Keys with at least one live sample, sorted (code-unit order, as `top` breaks ties). */
  keys(): string[] {
    const out: string[] = [];
    const marks = this.#cols.markLive(this.#table.span).marks;
    for (let slot = 0; slot < marks.length; slot++) if (marks[slot] === 1) out.push(this.#names[slot]);
    return out.sort();
  }

  /** Exact counters; `appended === live + discarded`, per partition and in total. */
  get stats(): MetricStoreStats {
    const perPartition: MetricPartitionStats[] = [];
    let appended = 0;
    let live = 0;
    for (let p = 0; p < this.#partitions; p++) {
      const a = this.#appended[p];
      const l = Math.min(a, this.#cap[p]);
      perPartition.push({ appended: a, discarded: a - l, live: l, capacity: this.#cap[p] });
      appended += a;
      live += l;
    }
    return {
      appended,
      discarded: appended - live,
      live,
      capacity: this.#capacity,
      partitions: this.#partitions,
      keys: this.#cols.markLive(this.#table.span).count,
      pinnedKeys: this.#table.pinned,
      rememberedKeys: this.#table.remembered,
      keyIdSpan: this.#table.span,
      perPartition,
    };
  }

  /**
   * Removes every sample and resets the counters of {@link stats} to zero
   * (so the accounting identity keeps holding). Pinned keys keep their ids;
   * every other key is forgotten. `onDiscarded` is not called for cleared
   * samples.
   */
  clear(): void {
    this.#cols.reset();
    this.#table.forgetUnmarked();
  }

  /**
   * Resolves the `(key?, range?)` arguments: returns the key id (-1 for all
   * keys), or -2 when the key is unknown (nothing can match).
   */
  #resolveKey(key: string | TimeRange | undefined): number {
    if (key === undefined || (typeof key === 'object' && key !== null)) return -1;
    if (typeof key !== 'string' || key.length === 0) throw badKey(key);
    const id = this.#ids.get(key);
    // A key over the limit is refused unless remembered: a journal written before the limit can hold one.
    if (id === undefined && !isMetricKey(key)) throw badKey(key);
    return id === undefined ? -2 : id;
  }

  /** Runs scanSum into `acc`; false when nothing can match. */
  #sumScan(key: string | TimeRange | undefined, range: TimeRange | undefined): boolean {
    return this.#scan(key, range, scanSum);
  }

  #minMaxScan(key: string | TimeRange | undefined, range: TimeRange | undefined): boolean {
    return this.#scan(key, range, scanMinMax);
  }

  #scan(key: string | TimeRange | undefined, range: TimeRange | undefined, kernel: ScanKernel): boolean {
    const id = this.#resolveKey(key);
    const [from, to] = parseRange(typeof key === 'object' && key !== null ? key : range);
    if (id === -2 || from > to) return false;
    // A known key lives in one partition only.
    const first = id >= 0 ? this.#keyPartition[id] : 0;
    this.#cols.scan(kernel, id, first, id >= 0 ? first + 1 : this.#partitions, from, to);
    return true;
  }
}

function warnCallback(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : String(err), { code: 'RS_WARN_CALLBACK' });
}
