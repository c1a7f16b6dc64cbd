/**
 * The loops of the common aggregate shapes (partition-queries.ts `scan`),
 * each over one contiguous run of slots, handed in as subarrays of the
 * columns and walked from 0 to `length`: the shape of a bare Float64Array
 * loop. The index must be a small integer to V8: run bounds computed from
 * the committer's positions reach here as heap numbers, and a loop from
 * such a bound can keep its index as a float64 (docs/benchmarks/core.md,
 * issue 15 third round). The filtered sums run the per-operator loops of
 * scan-loops.ts block by block, over subarrays of each block, choosing per
 * block between a branchy and a branchless loop.
 *
 * A kernel returns the sum and leaves the count in {@link kernelCount}: a
 * long first call is compiled on-stack mid-loop, before the code after the
 * loop ever ran, and a property write there deoptimised on exit.
 */
import { loopCount, OTHER_LOOPS, SAME_LOOPS, type Loop } from './scan-loops.js';

/** The count of the last kernel call. */
export let kernelCount = 0;

/**
 * Slots per call of a loop (scan-loops.ts): the driver picks the loop of the
 * next block from the last block's match rate. Large enough that the call
 * per block is noise (under 1% of a block's time), small enough to follow a
 * match rate that changes along the ring.
 */
const BLOCK = 8192;

/**
 * The filtered sum over one run, block by block, each block's sum carried
 * into the next so that the values are added in slot order as by one loop.
 * The branchless loop unless the last block matched under 1/32 or over
 * 63/64 of its slots: there the branchy loop's prediction holds and it
 * skips the add per slot (break-even measured at about 3% and 98% on values
 * in random order; bench/ab/scan-sweep.mjs).
 */
function blocks(loops: readonly [Loop, Loop], c: Float64Array, v: Float64Array, x: number): number {
  const [branchy, branchless] = loops;
  const n = c.length;
  let sum = 0;
  let count = 0;
  let predictable = false;
  for (let from = 0; from < n; ) {
    const to = n - from > BLOCK ? from + BLOCK : n;
    // Subarrays walked from 0 (scan-loops.ts); the same object when the sum is over the compared column.
    const cb = c.subarray(from, to);
    const vb = v === c ? cb : v.subarray(from, to);
    sum = predictable ? branchy(cb, vb, x, sum) : branchless(cb, vb, x, sum);
    const hits = loopCount;
    count += hits;
    predictable = hits * 32 < to - from || hits * 64 > (to - from) * 63;
    from = to;
  }
  kernelCount = count;
  return sum;
}

function sumAll(v: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i];
  return sum;
}

/**
 * Slots that are all live, no time range: the sum of value column `v`
 * (null: count only) over the slots whose column `c` passes `op x` (c null:
 * every slot). `v` and `c` are the same run of their columns, the same
 * object when they are the same column. Returns the sum; the count is in
 * {@link kernelCount}.
 */
export function denseKernel(v: Float64Array | null, c: Float64Array | null, op: number, x: number): number {
  if (c === null) {
    kernelCount = v === null ? 0 : v.length;
    return v === null ? 0 : sumAll(v);
  }
  // Count only: the same-column loop counts too; its sum is dropped.
  if (v === null || v === c) {
    const sum = blocks(SAME_LOOPS[op], c, c, x);
    return v === null ? 0 : sum;
  }
  return blocks(OTHER_LOOPS[op], c, v, x);
}

/** Live slots (flags & 1) with from <= ts <= to: the count, in {@link kernelCount}. `dense`: every slot is live. */
export function countRange(flags: Int32Array, ts: Float64Array, from: number, to: number, dense: boolean): void {
  let count = 0;
  if (dense) {
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      if (t >= from && t <= to) count++;
    }
  } else {
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      if ((flags[i] & 1) !== 0 && t >= from && t <= to) count++;
    }
  }
  kernelCount = count;
}
