/**
 * The loops of the common aggregate shapes (partition-queries.ts `scan`),
 * each over one contiguous run of slots, handed in as subarrays of the
 * columns and walked from 0 to `length`: the shape of a bare Float64Array
 * loop. The index must be a small integer to V8: run bounds computed from
 * the committer's positions reach here as heap numbers, and a loop from
 * such a bound can keep its index as a float64 (docs/benchmarks/core.md,
 * issue 15 third round: 1.7x the CPU of a plain worker's loop over the
 * same memory, gone with int32 bounds in that experiment). One function per operator, so that each
 * compiles to one comparison and the sums: the repetition is on purpose
 * (one loop taking the operator as a parameter or a callback compiles to
 * one function for all of them, with the operator tested per slot).
 *
 * A kernel returns the sum and leaves the count in {@link kernelCount}: a
 * long first call is compiled on-stack mid-loop, before the code after the
 * loop ever ran, and a property write there deoptimised on exit.
 */

/** The count of the last kernel call. */
export let kernelCount = 0;

type SameColumn = (v: Float64Array, x: number) => number;
type OtherColumn = (c: Float64Array, v: Float64Array, x: number) => number;

// sum and count of v[i] where v[i] <op> x; index = OPS code (partition-queries.ts).
function sameEq(v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const y = v[i];
    if (y === x) {
      sum += y;
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function sameNe(v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const y = v[i];
    if (y !== x) {
      sum += y;
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function sameGt(v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const y = v[i];
    if (y > x) {
      sum += y;
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function sameGte(v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const y = v[i];
    if (y >= x) {
      sum += y;
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function sameLt(v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const y = v[i];
    if (y < x) {
      sum += y;
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function sameLte(v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const y = v[i];
    if (y <= x) {
      sum += y;
      count++;
    }
  }
  kernelCount = count;
  return sum;
}

// count where c[i] <op> x, and the sum of v[i] over those (v: another value's column, same run).
function otherEq(c: Float64Array, v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] === x) {
      sum += v[i];
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function otherNe(c: Float64Array, v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] !== x) {
      sum += v[i];
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function otherGt(c: Float64Array, v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] > x) {
      sum += v[i];
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function otherGte(c: Float64Array, v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] >= x) {
      sum += v[i];
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function otherLt(c: Float64Array, v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] < x) {
      sum += v[i];
      count++;
    }
  }
  kernelCount = count;
  return sum;
}
function otherLte(c: Float64Array, v: Float64Array, x: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] <= x) {
      sum += v[i];
      count++;
    }
  }
  kernelCount = count;
  return sum;
}

/** By operator code: eq, ne, gt, gte, lt, lte (OPS in partition-queries.ts). */
const SAME: readonly SameColumn[] = [sameEq, sameNe, sameGt, sameGte, sameLt, sameLte];
const OTHER: readonly OtherColumn[] = [otherEq, otherNe, otherGt, otherGte, otherLt, otherLte];

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
  // Count only: the same-column loop counts too; its sum (one add per match) is dropped.
  if (v === null || v === c) {
    const sum = SAME[op](c, x);
    return v === null ? 0 : sum;
  }
  return OTHER[op](c, v, x);
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
