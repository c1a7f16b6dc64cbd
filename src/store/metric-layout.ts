/**
 * Shared-memory layout of a {@link MetricStore}, and the scan kernels its
 * queries run over it. Internal: the public surface is `metric-store.ts`.
 *
 * One SharedArrayBuffer holds the whole store. Partition `p` owns the slots
 * `[start[p], start[p] + cap[p])` of every column; its ring cursor (the slot
 * the next sample goes to) and its appended counter live in the header.
 *
 * ```
 *  byte 0                     8·P          8·P + 4·P (padded to 8)
 *  ┌──────────────────────────┬────────────┬──────────────────────┬─────────────────────┬──────────────────┐
 *  │ appended  Float64 × P    │ cursor     │ timestamp Float64×C  │ value  Float64 × C  │ keyId  Int32 × C │
 *  │ (samples ever added to p)│ Int32 × P  │ (ms epoch)           │                     │ (interned key)   │
 *  └──────────────────────────┴────────────┴──────────────────────┴─────────────────────┴──────────────────┘
 *                                            ├─ part 0 ─┼─ part 1 ─┼ ... (same split in every column)
 * ```
 *
 * A partition holds `min(appended, cap)` live samples. Until it wraps they
 * sit in `[start, start + appended)`; once `appended >= cap` the oldest is at
 * `cursor` and the live samples, oldest first, are `[cursor, end)` then
 * `[start, cursor)`. Every query visits them in that order, partitions in
 * ascending order, so floating-point sums are reproducible.
 *
 * Nothing here is published with Atomics yet: the store is written and read
 * on one thread. The buffer is shared so that a later reader thread can
 * attach views to it without copying (it will need a publication protocol).
 */
import { RingstoreError } from '../errors.js';
import { aboveMax, belowMin } from '../partition/extremes.js';

/** Byte offsets and sizes of the regions of a metric store's buffer. */
export interface MetricLayout {
  readonly partitions: number;
  readonly capacity: number;
  readonly appendedOffset: number;
  readonly cursorOffset: number;
  readonly timestampOffset: number;
  readonly valueOffset: number;
  readonly keyIdOffset: number;
  readonly byteLength: number;
}

/** Bytes per stored sample: timestamp (8) + value (8) + key id (4). */
export const BYTES_PER_SAMPLE = 20;

/** Computes the layout for `capacity` samples split over `partitions`. */
export function metricLayout(capacity: number, partitions: number): MetricLayout {
  const appendedOffset = 0;
  const cursorOffset = appendedOffset + 8 * partitions;
  const timestampOffset = align8(cursorOffset + 4 * partitions);
  const valueOffset = timestampOffset + 8 * capacity;
  const keyIdOffset = valueOffset + 8 * capacity;
  const byteLength = align8(keyIdOffset + 4 * capacity);
  return { partitions, capacity, appendedOffset, cursorOffset, timestampOffset, valueOffset, keyIdOffset, byteLength };
}

/** Not `(n + 7) & ~7`: that wraps above 2^31, and 20 bytes a sample pass it at about 107M samples. */
function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/**
 * Capacity of each partition: `floor(capacity / partitions)`, the first
 * `capacity % partitions` partitions taking one more, so the total is exact.
 */
export function splitCapacity(capacity: number, partitions: number): Int32Array {
  const caps = new Int32Array(partitions);
  const base = Math.floor(capacity / partitions);
  const extra = capacity % partitions;
  for (let p = 0; p < partitions; p++) caps[p] = base + (p < extra ? 1 : 0);
  return caps;
}

/**
 * Scratch results of the kernels below. Module-level so that a query
 * allocates nothing per segment; safe because kernels never re-enter.
 */
export const acc = new Float64Array(4);
/** Index of the count in {@link acc}. */
export const ACC_COUNT = 0;
/** Index of the running sum in {@link acc}. */
export const ACC_SUM = 1;
/** Index of the running minimum in {@link acc}. */
export const ACC_MIN = 2;
/** Index of the running maximum in {@link acc}. */
export const ACC_MAX = 3;

/** Resets {@link acc} to the empty aggregate. */
export function resetAcc(): void {
  acc[ACC_COUNT] = 0;
  acc[ACC_SUM] = 0;
  acc[ACC_MIN] = Infinity;
  acc[ACC_MAX] = -Infinity;
}

/**
 * Adds count and sum of slots `[lo, hi)` whose timestamp is in `[from, to]`
 * (and whose key id is `id`, unless `id < 0`) to {@link acc}.
 */
export function scanSum(
  keys: Int32Array,
  values: Float64Array,
  times: Float64Array,
  lo: number,
  hi: number,
  id: number,
  from: number,
  to: number,
): void {
  let count = 0;
  let sum = acc[ACC_SUM];
  if (id < 0) {
    for (let i = lo; i < hi; i++) {
      const t = times[i];
      if (t >= from && t <= to) {
        sum += values[i];
        count++;
      }
    }
  } else {
    for (let i = lo; i < hi; i++) {
      const t = times[i];
      if (keys[i] === id && t >= from && t <= to) {
        sum += values[i];
        count++;
      }
    }
  }
  acc[ACC_COUNT] += count;
  acc[ACC_SUM] = sum;
}

/** Like {@link scanSum}, but folds the minimum and maximum into {@link acc}. */
export function scanMinMax(
  keys: Int32Array,
  values: Float64Array,
  times: Float64Array,
  lo: number,
  hi: number,
  id: number,
  from: number,
  to: number,
): void {
  let count = 0;
  let min = acc[ACC_MIN];
  let max = acc[ACC_MAX];
  for (let i = lo; i < hi; i++) {
    const t = times[i];
    if ((id < 0 || keys[i] === id) && t >= from && t <= to) {
      const v = values[i];
      if (belowMin(v, min)) min = v;
      if (aboveMax(v, max)) max = v;
      count++;
    }
  }
  acc[ACC_COUNT] += count;
  acc[ACC_MIN] = min;
  acc[ACC_MAX] = max;
}

/** Adds, per key id, the sum and count of matching slots `[lo, hi)`. */
export function scanByKey(
  keys: Int32Array,
  values: Float64Array,
  times: Float64Array,
  lo: number,
  hi: number,
  from: number,
  to: number,
  sums: Float64Array,
  counts: Float64Array,
): void {
  for (let i = lo; i < hi; i++) {
    const t = times[i];
    if (t >= from && t <= to) {
      const k = keys[i];
      sums[k] += values[i];
      counts[k]++;
    }
  }
}

/** A scan kernel: {@link scanSum} or {@link scanMinMax}. */
export type ScanKernel = typeof scanSum;

/**
 * The views of a store's buffer and the walks over each partition's live
 * slots. `MetricStore` writes through the same views (its hot path).
 */
export class MetricColumns {
  readonly partitions: number;
  /** The shared buffer holding header and columns. */
  readonly buffer: SharedArrayBuffer;
  readonly appended: Float64Array;
  readonly cursor: Int32Array;
  readonly times: Float64Array;
  readonly values: Float64Array;
  readonly keys: Int32Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly cap: Int32Array;

  /** Allocates the buffer (`RS_ERR_INVALID_OPTION` if it cannot be); the arguments are validated. */
  constructor(capacity: number, partitions: number) {
    this.partitions = partitions;
    const layout = metricLayout(capacity, partitions);
    try {
      this.buffer = new SharedArrayBuffer(layout.byteLength);
    } catch (cause) {
      throw new RingstoreError(
        'RS_ERR_INVALID_OPTION',
        `options.capacity ${capacity} needs ${layout.byteLength} bytes of shared memory, which could not be allocated`,
        { capacity, byteLength: layout.byteLength },
        { cause },
      );
    }
    this.appended = new Float64Array(this.buffer, layout.appendedOffset, partitions);
    this.cursor = new Int32Array(this.buffer, layout.cursorOffset, partitions);
    this.times = new Float64Array(this.buffer, layout.timestampOffset, capacity);
    this.values = new Float64Array(this.buffer, layout.valueOffset, capacity);
    this.keys = new Int32Array(this.buffer, layout.keyIdOffset, capacity);
    this.cap = splitCapacity(capacity, partitions);
    this.start = new Int32Array(partitions);
    this.end = new Int32Array(partitions);
    let offset = 0;
    for (let p = 0; p < partitions; p++) {
      this.start[p] = offset;
      offset += this.cap[p];
      this.end[p] = offset;
    }
    this.reset();
  }

  /** Empties every partition (counters included). */
  reset(): void {
    for (let p = 0; p < this.partitions; p++) {
      this.appended[p] = 0;
      this.cursor[p] = this.start[p];
    }
  }

  /** Calls `fn(lo, hi)` for the live slot ranges of `p`, oldest first. */
  eachSegment(p: number, fn: (lo: number, hi: number) => void): void {
    const a = this.appended[p];
    const start = this.start[p];
    if (a < this.cap[p]) {
      if (a > 0) fn(start, start + a);
      return;
    }
    const c = this.cursor[p];
    fn(c, this.end[p]);
    if (c > start) fn(start, c);
  }

  /**
   * Resets {@link acc} and folds `kernel` over the live slots of partitions
   * `[first, last)` (key id `id`, or every key if `id < 0`), oldest first.
   */
  scan(kernel: ScanKernel, id: number, first: number, last: number, from: number, to: number): void {
    resetAcc();
    const { keys, values, times } = this;
    for (let p = first; p < last; p++) {
      const a = this.appended[p];
      const start = this.start[p];
      if (a < this.cap[p]) {
        kernel(keys, values, times, start, start + a, id, from, to);
      } else {
        const c = this.cursor[p];
        kernel(keys, values, times, c, this.end[p], id, from, to);
        kernel(keys, values, times, start, c, id, from, to);
      }
    }
  }

  /** Per key id below `span`: sum and count of the live samples in `[from, to]`. */
  sumsByKey(span: number, from: number, to: number): { sums: Float64Array; counts: Float64Array } {
    const sums = new Float64Array(span);
    const counts = new Float64Array(span);
    for (let p = 0; p < this.partitions; p++) {
      this.eachSegment(p, (lo, hi) => scanByKey(this.keys, this.values, this.times, lo, hi, from, to, sums, counts));
    }
    return { sums, counts };
  }

  /** Marks the key ids (below `span`) that have a live sample; returns the marks and how many. */
  markLive(span: number): { marks: Uint8Array; count: number } {
    const marks = new Uint8Array(span);
    const keys = this.keys;
    let count = 0;
    for (let p = 0; p < this.partitions; p++) {
      this.eachSegment(p, (lo, hi) => {
        for (let i = lo; i < hi; i++) {
          const id = keys[i];
          count += 1 - marks[id];
          marks[id] = 1;
        }
      });
    }
    return { marks, count };
  }

  /** Rewrites key id `from` to `to` in the live slots of partition `p`. */
  rewriteKey(p: number, from: number, to: number): void {
    const keys = this.keys;
    this.eachSegment(p, (lo, hi) => {
      for (let i = lo; i < hi; i++) if (keys[i] === from) keys[i] = to;
    });
  }
}
