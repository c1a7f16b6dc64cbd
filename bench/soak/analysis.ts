/**
 * The soak's verdict, from its samples. Pure functions.
 *
 * - Memory is **bounded** when, over the second half of the run (after the
 *   rings have filled and the JIT settled), the Theil–Sen slope of RSS and of
 *   the used heap is at most `maxRssSlope` / `maxHeapSlope` MB per minute. The
 *   Theil–Sen slope (the median of the slopes between every pair of samples)
 *   ignores GC saw-teeth and outliers; a leak of a few MB per minute over
 *   fifteen minutes is a clear slope, a collection that frees 50 MB is not.
 * - Latency is **stable** when the median p99 of the last quarter is at most
 *   twice that of the second quarter, plus 10 ms.
 * - Nothing failed: no 5xx, no request without an answer.
 */
import { median } from '../harness/stats.js';

/** One sample, taken every `--sample-seconds`. */
export interface SoakSample {
  /** Seconds since the traffic started. */
  t: number;
  rssMB: number;
  heapUsedMB: number;
  /** Latency percentiles (ms) of every request answered in this window. */
  p50: number;
  p99: number;
  /** Requests answered in this window, and those that failed (5xx or no answer). */
  requests: number;
  errors: number;
  /** SSE events received in this window, and live subscriptions at the end of it. */
  sseEvents: number;
  subscribers: number;
  /** The daemon's event-loop delay p99 (ms) over the window. */
  lagP99: number;
  /** p99 (ms) of the window's `/health` probes (one every 100 ms, on a connection of their own). */
  healthP99: number;
  /** Used heap of the partition workers together (MB): `heapUsedMB` is the main thread's only. */
  workerHeapMB: number;
  /** Keys (stream names, metric labels) with live events in the stores. */
  keys: number;
  /** Used heap per thread (MB): `main`, `streams-p0`, `metrics-p1`... */
  threads: Record<string, number>;
  /** Heap reserved by every thread together (MB): V8's part of RSS. */
  heapTotalMB: number;
  /** The main thread's external and ArrayBuffer memory (MB). */
  externalMB: number;
  arrayBuffersMB: number;
  /** RSS by kind of mapping (MB, from /proc/PID/smaps; empty without /proc). */
  mappings: Record<string, number>;
}

/** Limits of the verdict. */
export interface SoakLimits {
  /** MB per minute (default 1). */
  maxRssSlope: number;
  /** MB per minute (default 1). */
  maxHeapSlope: number;
}

export const DEFAULT_LIMITS: SoakLimits = Object.freeze({ maxRssSlope: 1, maxHeapSlope: 1 });

/** The verdict and the figures behind it. */
export interface SoakVerdict {
  ok: boolean;
  /** Why it failed (empty when ok). */
  failures: string[];
  /** Theil–Sen slopes over the second half, MB per minute. */
  rssSlope: number;
  heapSlope: number;
  /** The partition workers' heaps together (NaN when the daemon did not report them). */
  workerHeapSlope: number;
  /** Median p99 (ms) of the second and of the last quarter. */
  p99Early: number;
  p99Late: number;
  requests: number;
  errors: number;
  samples: number;
}

/** Most points the slope looks at (evenly spread): Theil–Sen is quadratic in them. */
const MAX_POINTS = 400;

/**
 * Theil–Sen slope of y over x: the median of (y[j] - y[i]) / (x[j] - x[i])
 * over every pair i < j with distinct x. NaN with fewer than two points.
 */
export function theilSen(x: readonly number[], y: readonly number[]): number {
  let idx = x.map((_, i) => i);
  if (idx.length > MAX_POINTS) idx = Array.from({ length: MAX_POINTS }, (_, k) => Math.round((k * (x.length - 1)) / (MAX_POINTS - 1)));
  const slopes: number[] = [];
  for (let a = 0; a < idx.length; a++) {
    for (let b = a + 1; b < idx.length; b++) {
      const i = idx[a];
      const j = idx[b];
      if (x[j] !== x[i]) slopes.push((y[j] - y[i]) / (x[j] - x[i]));
    }
  }
  return median(slopes);
}

/** Index of the first sample of the judged part of a run of `n` samples. */
export function judgedFrom(n: number): number {
  return Math.floor(n / 2);
}

/** Judges a run. */
export function judge(samples: readonly SoakSample[], limits: SoakLimits = DEFAULT_LIMITS): SoakVerdict {
  const failures: string[] = [];
  const half = samples.slice(judgedFrom(samples.length));
  const minutes = half.map((s) => s.t / 60);
  const rssSlope = theilSen(minutes, half.map((s) => s.rssMB));
  const heapSlope = theilSen(minutes, half.map((s) => s.heapUsedMB));
  const workerPoints = half.filter((s) => Number.isFinite(s.workerHeapMB));
  const workerHeapSlope = theilSen(workerPoints.map((s) => s.t / 60), workerPoints.map((s) => s.workerHeapMB));
  const q = Math.floor(samples.length / 4);
  const p99Early = median(samples.slice(q, 2 * q).map((s) => s.p99).filter(Number.isFinite));
  const p99Late = median(samples.slice(3 * q).map((s) => s.p99).filter(Number.isFinite));
  let requests = 0;
  let errors = 0;
  for (const s of samples) {
    requests += s.requests;
    errors += s.errors;
  }
  if (samples.length < 4) failures.push(`only ${samples.length} samples: run longer than 4 sample periods`);
  if (rssSlope > limits.maxRssSlope) failures.push(`RSS grows ${rssSlope.toFixed(2)} MB/min over the second half (limit ${limits.maxRssSlope})`);
  if (heapSlope > limits.maxHeapSlope) failures.push(`heap grows ${heapSlope.toFixed(2)} MB/min over the second half (limit ${limits.maxHeapSlope})`);
  if (workerHeapSlope > limits.maxHeapSlope) failures.push(`the partition workers' heaps grow ${workerHeapSlope.toFixed(2)} MB/min over the second half (limit ${limits.maxHeapSlope})`);
  if (p99Late > 2 * p99Early + 10) failures.push(`p99 drifts from ${p99Early.toFixed(1)} ms (second quarter) to ${p99Late.toFixed(1)} ms (last quarter)`);
  if (errors > 0) failures.push(`${errors} of ${requests} requests failed (5xx or no answer)`);
  return { ok: failures.length === 0, failures, rssSlope, heapSlope, workerHeapSlope, p99Early, p99Late, requests, errors, samples: samples.length };
}
