/**
 * Time-bucket aggregates of one partition, kept by its worker. The window is
 * anchored at the newest event, as in the reference: [newest - size, newest],
 * both ends inclusive. It spans `buckets + 1` bucket numbers when `newest -
 * size` does not fall on a bucket boundary, so that many are kept: ring entry
 * i holds bucket number n = floor(ts / bucketMs) with n % (buckets + 1) = i; a
 * newer number resets it, an older one (an event older than the window) is
 * not counted. Evictions and purges subtract, so the buckets describe the
 * live events. Sums are compensated (Neumaier: each bucket keeps the rounding
 * error of its additions beside the sum), so subtracting an evicted value
 * leaves no share of it behind (1e308 + 1 - 1e308 is 1) and window sums stay
 * within about an ulp of the live events' exact sum; they are not bit-equal
 * to adding those events in some order. A removed value equal to a bucket's
 * min or max marks it dirty, and so does a removal from a sum that overflowed
 * to ±Infinity (subtracting cannot bring it back); the next query that
 * overlaps a dirty bucket recomputes its min, max and sums from the live
 * events (rare: usually the evicted are the oldest, outside the window). A
 * rounded sum needs no rescan: with values such as 12.34 nearly every sum
 * rounds, and rescanning on each eviction made windowAggregate O(live events).
 *
 * Granularity is a bucket: a query counts the whole buckets that overlap its
 * range (see {@link query}).
 */
import { aboveMax, belowMin } from './extremes.js';

export interface BucketPartial {
  count: number;
  sum: number;
  min: number;
  max: number;
}

export class WindowBuckets {
  readonly bucketMs: number;
  /** Ring entries: the window's bucket count + 1. */
  readonly buckets: number;
  /** Window length in ms. */
  readonly sizeMs: number;
  /** Newest timestamp counted so far (never goes back, as the reference's window end). */
  newest = -Infinity;
  private readonly values: number;
  private readonly number: Float64Array;
  private readonly count: Float64Array;
  private readonly sum: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly dirty: Uint8Array;
  /** Per bucket and value: the rounding error of the additions to `sum` (Neumaier); the sum is sum + comp. */
  private readonly comp: Float64Array;
  /** Per bucket and value: 1 when the sum overflowed, so subtracting cannot give the live events' sum back. */
  private readonly overflowed: Uint8Array;
  private latest = -Infinity;

  constructor(bucketMs: number, windowBuckets: number, values: number) {
    this.bucketMs = bucketMs;
    this.sizeMs = bucketMs * windowBuckets;
    const buckets = windowBuckets + 1;
    this.buckets = buckets;
    this.values = values;
    this.number = new Float64Array(buckets).fill(-Infinity);
    this.count = new Float64Array(buckets);
    this.sum = new Float64Array(buckets * values);
    this.min = new Float64Array(buckets * values).fill(Infinity);
    this.max = new Float64Array(buckets * values).fill(-Infinity);
    this.dirty = new Uint8Array(buckets);
    this.comp = new Float64Array(buckets * values);
    this.overflowed = new Uint8Array(buckets * values);
  }

  /** Adds x to sum o, keeping the addition's rounding error in comp (Neumaier), or noting an overflow. */
  private addTo(o: number, x: number): void {
    const a = this.sum[o];
    const s = a + x;
    if (Number.isFinite(s)) this.comp[o] += Math.abs(a) >= Math.abs(x) ? a - s + x : x - s + a;
    else this.overflowed[o] = 1;
    this.sum[o] = s;
  }

  /** The sum of bucket/value o. */
  private sumOf(o: number): number {
    return this.overflowed[o] ? this.sum[o] : this.sum[o] + this.comp[o];
  }

  private index(n: number): number {
    const i = n % this.buckets;
    return i < 0 ? i + this.buckets : i;
  }

  /** Counts an event; `vals(v)` reads its value v. */
  add(ts: number, vals: Float64Array, valsAt: number, stride: number): void {
    const n = Math.floor(ts / this.bucketMs);
    if (n <= this.latest - this.buckets) return; // older than the window
    if (n > this.latest) this.latest = n;
    if (ts > this.newest) this.newest = ts;
    const i = this.index(n);
    if (this.number[i] < n) this.reset(i, n);
    else if (this.number[i] > n) return;
    this.count[i]++;
    const V = this.values;
    for (let v = 0; v < V; v++) {
      const x = vals[valsAt + v * stride];
      const o = i * V + v;
      this.addTo(o, x);
      if (belowMin(x, this.min[o])) this.min[o] = x;
      if (aboveMax(x, this.max[o])) this.max[o] = x;
    }
  }

  /** Uncounts a live event that was evicted or purged. */
  remove(ts: number, vals: Float64Array, valsAt: number, stride: number): void {
    const n = Math.floor(ts / this.bucketMs);
    const i = this.index(n);
    if (this.number[i] !== n) return;
    if (--this.count[i] <= 0) {
      this.reset(i, n);
      return;
    }
    const V = this.values;
    for (let v = 0; v < V; v++) {
      const x = vals[valsAt + v * stride];
      const o = i * V + v;
      if (!this.overflowed[o]) this.addTo(o, -x);
      // Recomputed from the live events by rebuild(): min/max, and a sum that overflowed.
      if (x <= this.min[o] || x >= this.max[o] || this.overflowed[o]) this.dirty[i] = 1;
    }
  }

  private reset(i: number, n: number): void {
    this.number[i] = n;
    this.count[i] = 0;
    this.dirty[i] = 0;
    const V = this.values;
    for (let v = 0; v < V; v++) {
      const o = i * V + v;
      this.sum[o] = 0;
      this.min[o] = Infinity;
      this.max[o] = -Infinity;
      this.comp[o] = 0;
      this.overflowed[o] = 0;
    }
  }

  clear(): void {
    this.number.fill(-Infinity);
    this.count.fill(0);
    this.sum.fill(0);
    this.min.fill(Infinity);
    this.max.fill(-Infinity);
    this.dirty.fill(0);
    this.comp.fill(0);
    this.overflowed.fill(0);
    this.latest = -Infinity;
    this.newest = -Infinity;
  }

  /** Bucket numbers in range [lo, hi] that are inside the current window. */
  private inRange(i: number, lo: number, hi: number): boolean {
    const n = this.number[i];
    return n >= lo && n <= hi && n > this.latest - this.buckets && this.count[i] > 0;
  }

  /** True when a dirty bucket overlaps [from, to]: the caller must call {@link rebuild}. */
  needsRescan(from: number, to: number): boolean {
    const lo = Math.floor(from / this.bucketMs);
    const hi = Math.floor(to / this.bucketMs);
    for (let i = 0; i < this.buckets; i++) if (this.dirty[i] && this.inRange(i, lo, hi)) return true;
    return false;
  }

  /** Recomputes min, max and sums of dirty buckets from the live events given. */
  rebuild(each: (visit: (ts: number, vals: Float64Array, at: number, stride: number) => void) => void): void {
    const V = this.values;
    for (let i = 0; i < this.buckets; i++) {
      if (!this.dirty[i]) continue;
      for (let v = 0; v < V; v++) {
        this.min[i * V + v] = Infinity;
        this.max[i * V + v] = -Infinity;
        this.sum[i * V + v] = 0;
        this.comp[i * V + v] = 0;
        this.overflowed[i * V + v] = 0;
      }
    }
    each((ts, vals, at, stride) => {
      const n = Math.floor(ts / this.bucketMs);
      const i = this.index(n);
      if (!this.dirty[i] || this.number[i] !== n) return;
      for (let v = 0; v < V; v++) {
        const x = vals[at + v * stride];
        const o = i * V + v;
        this.addTo(o, x);
        if (belowMin(x, this.min[o])) this.min[o] = x;
        if (aboveMax(x, this.max[o])) this.max[o] = x;
      }
    });
    this.dirty.fill(0);
  }

  /**
   * Aggregates per value over the kept buckets that overlap [from, to] (both
   * inclusive; whole buckets: an event in a bucket that overlaps the range
   * counts even if its own time is just outside): O(buckets). Without a
   * range: the window [newest - size, newest].
   */
  query(from: number, to: number): { count: number; perValue: BucketPartial[] } {
    const V = this.values;
    const lo = Math.floor(from / this.bucketMs);
    const hi = Math.floor(to / this.bucketMs);
    const perValue: BucketPartial[] = [];
    for (let v = 0; v < V; v++) perValue.push({ count: 0, sum: 0, min: Infinity, max: -Infinity });
    let count = 0;
    for (let i = 0; i < this.buckets; i++) {
      if (!this.inRange(i, lo, hi)) continue;
      count += this.count[i];
      for (let v = 0; v < V; v++) {
        const o = i * V + v;
        const p = perValue[v];
        p.count += this.count[i];
        p.sum += this.sumOf(o);
        if (belowMin(this.min[o], p.min)) p.min = this.min[o];
        if (aboveMax(this.max[o], p.max)) p.max = this.max[o];
      }
    }
    return { count, perValue };
  }
}
