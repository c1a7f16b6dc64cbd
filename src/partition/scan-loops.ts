/**
 * The loops of the filtered sums (scan-kernels.ts `denseKernel`), over one
 * block of a run's columns handed in as subarrays and walked from 0 to
 * `length` (a loop between bounds passed as parameters measured up to 6x
 * slower on Node 20 when every slot matched), each adding the matching
 * values to `sum` in slot order and leaving the match count in
 * {@link loopCount}. Two kinds per operator and column shape, with
 * identical results:
 *
 * - branchy (`…B`): `if (match) { sum += y; count++ }`. Each slot whose
 *   outcome the CPU did not predict costs a pipeline flush, so on values in
 *   random order it costs up to 5x the branchless loop (about 6 ns a slot at
 *   a 50% match rate on the project's VM); it is the cheaper one only when
 *   nearly every slot goes the same way.
 * - branchless (`…F`): `hit = (match) | 0; sum += y * hit; count += hit`: one
 *   add per slot, bound by the add's latency (about 1.2 ns a slot there) at
 *   any match rate. Adding `y * 0` (+0 or -0) leaves a sum that started at
 *   +0 unchanged, so the result is bit for bit the branchy loop's, as long as
 *   the values are finite (the producer refuses others: producer.ts).
 *
 * Measurements: docs/benchmarks/core.md, issue 15, fourth round. One
 * function per operator, repeated on purpose: a loop taking the operator as
 * a parameter compiles to one function testing it per slot. Same-column
 * loops take the column twice (one signature for the driver) and read `c`.
 */

/** The match count of the last loop call. */
export let loopCount = 0;

/** sum + the values of `v` over the slots whose `c` matches `x`; the match count in {@link loopCount}. */
export type Loop = (c: Float64Array, v: Float64Array, x: number, sum: number) => number;

// Same column: sum and count of c[i] where c[i] <op> x.
function sameEqB(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    if (y === x) {
      sum += y;
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function sameEqF(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    const hit = ((y === x) as unknown as number) | 0;
    sum += y * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function sameNeB(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    if (y !== x) {
      sum += y;
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function sameNeF(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    const hit = ((y !== x) as unknown as number) | 0;
    sum += y * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function sameGtB(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    if (y > x) {
      sum += y;
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function sameGtF(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    const hit = ((y > x) as unknown as number) | 0;
    sum += y * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function sameGteB(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    if (y >= x) {
      sum += y;
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function sameGteF(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    const hit = ((y >= x) as unknown as number) | 0;
    sum += y * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function sameLtB(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    if (y < x) {
      sum += y;
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function sameLtF(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    const hit = ((y < x) as unknown as number) | 0;
    sum += y * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function sameLteB(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    if (y <= x) {
      sum += y;
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function sameLteF(c: Float64Array, _v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const y = c[i];
    const hit = ((y <= x) as unknown as number) | 0;
    sum += y * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
// Another column: count where c[i] <op> x, and the sum of v[i] over those.
function otherEqB(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] === x) {
      sum += v[i];
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function otherEqF(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const hit = ((c[i] === x) as unknown as number) | 0;
    sum += v[i] * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function otherNeB(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] !== x) {
      sum += v[i];
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function otherNeF(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const hit = ((c[i] !== x) as unknown as number) | 0;
    sum += v[i] * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function otherGtB(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] > x) {
      sum += v[i];
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function otherGtF(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const hit = ((c[i] > x) as unknown as number) | 0;
    sum += v[i] * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function otherGteB(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] >= x) {
      sum += v[i];
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function otherGteF(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const hit = ((c[i] >= x) as unknown as number) | 0;
    sum += v[i] * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function otherLtB(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] < x) {
      sum += v[i];
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function otherLtF(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const hit = ((c[i] < x) as unknown as number) | 0;
    sum += v[i] * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
function otherLteB(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] <= x) {
      sum += v[i];
      count++;
    }
  }
  loopCount = count;
  return sum;
}
function otherLteF(c: Float64Array, v: Float64Array, x: number, sum: number): number {
  let count = 0;
  for (let i = 0; i < c.length; i++) {
    const hit = ((c[i] <= x) as unknown as number) | 0;
    sum += v[i] * hit;
    count += hit;
  }
  loopCount = count;
  return sum;
}
/** By operator code (eq, ne, gt, gte, lt, lte: OPS in partition-queries.ts): [branchy, branchless]. */
export const SAME_LOOPS: readonly (readonly [Loop, Loop])[] = [
  [sameEqB, sameEqF],
  [sameNeB, sameNeF],
  [sameGtB, sameGtF],
  [sameGteB, sameGteF],
  [sameLtB, sameLtF],
  [sameLteB, sameLteF],
];
export const OTHER_LOOPS: readonly (readonly [Loop, Loop])[] = [
  [otherEqB, otherEqF],
  [otherNeB, otherNeF],
  [otherGtB, otherGtF],
  [otherGteB, otherGteF],
  [otherLtB, otherLtF],
  [otherLteB, otherLteF],
];
