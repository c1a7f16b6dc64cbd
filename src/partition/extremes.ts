/**
 * The running-minimum and running-maximum steps of every min/max in the
 * store (partition scans, window buckets, the coordinator's filter path, the
 * MetricStore's scans), so that they agree with Math.min/Math.max on zeros:
 * -0 is below +0, so min(0, -0) is -0 and max(-0, 0) is 0, whatever the order
 * the values are met in (partition, position, merge). A bare `x < min` keeps
 * whichever zero came first. Stored values are finite (append rejects NaN),
 * so NaN needs no case here.
 *
 * The common path stays one comparison (`<=` / `>=`); the second, and the
 * zero test, run only when `x` ties or beats the current extreme. On a
 * 1M-value min+max loop (`node bench/ab/minmax-forms.mjs 9`, best process of
 * 9, docs/benchmarks/core.md) this costs nothing against the bare `<` / `>`
 * loop (0.97-0.98x, called or written out), where testing for zero whenever
 * `x` does not beat the extreme cost 1.73x and `Math.min`/`Math.max` 1.09x.
 */

/** True when `x` is to replace the running minimum `min`: smaller, or -0 against +0. */
export function belowMin(x: number, min: number): boolean {
  return x <= min && (x < min || Object.is(x, -0));
}

/** True when `x` is to replace the running maximum `max`: greater, or +0 against -0. */
export function aboveMax(x: number, max: number): boolean {
  return x >= max && (x > max || Object.is(max, -0));
}
