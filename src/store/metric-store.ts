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
import { RingstoreError, invalidArgument } from '../errors.js';
import {
  badKey,
  nonFinite,
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
import {
  ACC_COUNT,
  ACC_MAX,
  ACC_MIN,
  ACC_SUM,
  acc,
  metricLayout,
  resetAcc,
  scanByKey,
  scanMinMax,
  scanSum,
  splitCapacity,
} from './metric-layout.js';

export { METRIC_MAX_CAPACITY } from './metric-types.js';
export type {
  MetricAggregate,
  MetricDiscardCallback,
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
  /** The shared buffer holding header and columns (see `metric-layout.ts`). */
  readonly #buffer: SharedArrayBuffer;
  readonly #appended: Float64Array;
  readonly #cursor: Int32Array;
  readonly #times: Float64Array;
  readonly #values: Float64Array;
  readonly #keys: Int32Array;
  readonly #start: Int32Array;
  readonly #end: Int32Array;
  readonly #cap: Int32Array;
  readonly #ids = new Map<string, number>();
  readonly #names: string[] = [];
  /** Partition of each key id, computed once at interning. */
  readonly #keyPartition: number[] = [];
  readonly #onDiscarded: MetricDiscardCallback | null;

  /** Validates `options` (throws `RS_ERR_INVALID_OPTION`) and allocates the buffer. */
  constructor(options: MetricStoreOptions) {
    const { capacity, partitions, onDiscarded } = validateOptions(options);
    this.#partitions = partitions;
    this.#capacity = capacity;
    this.#onDiscarded = onDiscarded;
    const layout = metricLayout(capacity, partitions);
    try {
      this.#buffer = new SharedArrayBuffer(layout.byteLength);
    } catch (cause) {
      throw new RingstoreError(
        'RS_ERR_INVALID_OPTION',
        `options.capacity ${capacity} needs ${layout.byteLength} bytes of shared memory, which could not be allocated`,
        { capacity, byteLength: layout.byteLength },
        { cause },
      );
    }
    this.#appended = new Float64Array(this.#buffer, layout.appendedOffset, partitions);
    this.#cursor = new Int32Array(this.#buffer, layout.cursorOffset, partitions);
    this.#times = new Float64Array(this.#buffer, layout.timestampOffset, capacity);
    this.#values = new Float64Array(this.#buffer, layout.valueOffset, capacity);
    this.#keys = new Int32Array(this.#buffer, layout.keyIdOffset, capacity);
    this.#cap = splitCapacity(capacity, partitions);
    this.#start = new Int32Array(partitions);
    this.#end = new Int32Array(partitions);
    let offset = 0;
    for (let p = 0; p < partitions; p++) {
      this.#start[p] = offset;
      this.#cursor[p] = offset;
      offset += this.#cap[p];
      this.#end[p] = offset;
    }
  }

  /** Creates a store; same as `new MetricStore(options)`. */
  static create(options: MetricStoreOptions): MetricStore {
    return new MetricStore(options);
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
    if (typeof key !== 'string' || key.length === 0) throw badKey(key);
    const ts = timestamp === undefined ? Date.now() : timestamp;
    if (!Number.isFinite(value) || !Number.isFinite(ts)) throw nonFinite(value, ts);
    let id = this.#ids.get(key);
    if (id === undefined) id = this.#intern(key);
    this.#write(id, value, ts);
  }

  /**
   * Interns `key` and returns its id, for {@link addById}. Ids are small
   * integers from 0, stable for the store's lifetime (also across `clear()`).
   */
  keyId(key: string): number {
    if (typeof key !== 'string' || key.length === 0) throw badKey(key);
    const id = this.#ids.get(key);
    return id === undefined ? this.#intern(key) : id;
  }

  /** The key of an id returned by {@link keyId}, or `undefined`. */
  keyOf(id: number): string | undefined {
    return this.#names[id];
  }

  /**
   * {@link add} for a key id from {@link keyId}: skips the string lookup,
   * for the hottest loops. An unknown id throws `RS_ERR_INVALID_ARGUMENT`.
   */
  addById(id: number, value: number, timestamp?: number): void {
    if (id >>> 0 !== id || id >= this.#names.length) throw invalidArgument(`unknown key id ${String(id)}`, { id });
    const ts = timestamp === undefined ? Date.now() : timestamp;
    if (!Number.isFinite(value) || !Number.isFinite(ts)) throw nonFinite(value, ts);
    this.#write(id, value, ts);
  }

  /**
   * Stores `keys.length` samples given as columns, in order. Everything is
   * validated first: if any key, value or timestamp is invalid, or the
   * lengths differ, it throws and stores nothing. A missing `timestamps`
   * column means one `Date.now()` for the whole batch.
   */
  addMany(keys: ArrayLike<string>, values: ArrayLike<number>, timestamps?: ArrayLike<number>): void {
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
      if (typeof key !== 'string' || key.length === 0) throw badKey(key, i);
      const ts = timestamps === undefined ? 0 : timestamps[i];
      if (!Number.isFinite(values[i]) || !Number.isFinite(ts)) throw nonFinite(values[i], ts, i);
    }
    const now = timestamps === undefined ? Date.now() : 0;
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      let id = this.#ids.get(key);
      if (id === undefined) id = this.#intern(key);
      this.#write(id, values[i], timestamps === undefined ? now : timestamps[i]);
    }
  }

  #intern(key: string): number {
    const id = this.#names.length;
    if (id > 0x7fffffff) throw invalidArgument('too many distinct keys');
    this.#ids.set(key, id);
    this.#names.push(key);
    this.#keyPartition.push(partitionOf(key, this.#partitions));
    return id;
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
      (this.#onDiscarded as MetricDiscardCallback)(oldKey, oldValue, oldTs, p);
    } catch (err) {
      process.emitWarning(err instanceof Error ? err : String(err), { code: 'RS_WARN_CALLBACK' });
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
   * The `k` keys with the largest sums in the range, descending, ties broken
   * by key (code-unit order). Keys with no sample in the range are left out.
   * `k` must be a non-negative integer.
   */
  top(k: number, range?: TimeRange): TopEntry[] {
    if (!Number.isSafeInteger(k) || k < 0) throw invalidArgument(`top: k must be a non-negative integer, got ${String(k)}`, { k });
    const [from, to] = parseRange(range);
    const n = this.#names.length;
    const sums = new Float64Array(n);
    const counts = new Float64Array(n);
    for (let p = 0; p < this.#partitions; p++) {
      this.#eachSegment(p, (lo, hi) => scanByKey(this.#keys, this.#values, this.#times, lo, hi, from, to, sums, counts));
    }
    const rows: TopEntry[] = [];
    for (let id = 0; id < n; id++) if (counts[id] > 0) rows.push({ key: this.#names[id], value: sums[id] });
    rows.sort((a, b) => (a.value !== b.value ? b.value - a.value : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return rows.length > k ? rows.slice(0, k) : rows;
  }

  /** Keys with at least one live sample, in the order they were first added. */
  keys(): string[] {
    const seen = new Uint8Array(this.#names.length);
    for (let p = 0; p < this.#partitions; p++) {
      this.#eachSegment(p, (lo, hi) => {
        for (let i = lo; i < hi; i++) seen[this.#keys[i]] = 1;
      });
    }
    const out: string[] = [];
    for (let id = 0; id < seen.length; id++) if (seen[id] === 1) out.push(this.#names[id]);
    return out;
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
      keys: this.#names.length,
      perPartition,
    };
  }

  /**
   * Removes every sample and resets the counters of {@link stats} to zero
   * (so the accounting identity keeps holding). Interned key ids are kept.
   * `onDiscarded` is not called for cleared samples.
   */
  clear(): void {
    for (let p = 0; p < this.#partitions; p++) {
      this.#appended[p] = 0;
      this.#cursor[p] = this.#start[p];
    }
  }

  /** Calls `fn(lo, hi)` for the live slot ranges of `p`, oldest first. */
  #eachSegment(p: number, fn: (lo: number, hi: number) => void): void {
    const a = this.#appended[p];
    const start = this.#start[p];
    if (a < this.#cap[p]) {
      if (a > 0) fn(start, start + a);
      return;
    }
    const c = this.#cursor[p];
    fn(c, this.#end[p]);
    if (c > start) fn(start, c);
  }

  /**
   * Resolves the `(key?, range?)` arguments: returns the key id (-1 for all
   * keys), or -2 when the key is unknown (nothing can match).
   */
  #resolveKey(key: string | TimeRange | undefined): number {
    if (key === undefined || (typeof key === 'object' && key !== null)) return -1;
    if (typeof key !== 'string' || key.length === 0) throw badKey(key);
    const id = this.#ids.get(key);
    return id === undefined ? -2 : id;
  }

  /** Runs scanSum into `acc`; false when nothing can match. */
  #sumScan(key: string | TimeRange | undefined, range: TimeRange | undefined): boolean {
    return this.#scan(key, range, scanSum);
  }

  #minMaxScan(key: string | TimeRange | undefined, range: TimeRange | undefined): boolean {
    return this.#scan(key, range, scanMinMax);
  }

  #scan(key: string | TimeRange | undefined, range: TimeRange | undefined, kernel: typeof scanSum): boolean {
    const id = this.#resolveKey(key);
    const [from, to] = parseRange(typeof key === 'object' && key !== null ? key : range);
    if (id === -2 || from > to) return false;
    resetAcc();
    const keys = this.#keys;
    const values = this.#values;
    const times = this.#times;
    // A known key lives in one partition only.
    const first = id >= 0 ? this.#keyPartition[id] : 0;
    const last = id >= 0 ? first + 1 : this.#partitions;
    for (let p = first; p < last; p++) {
      const a = this.#appended[p];
      const start = this.#start[p];
      if (a < this.#cap[p]) {
        kernel(keys, values, times, start, start + a, id, from, to);
      } else {
        const c = this.#cursor[p];
        kernel(keys, values, times, c, this.#end[p], id, from, to);
        kernel(keys, values, times, start, c, id, from, to);
      }
    }
    return true;
  }
}
