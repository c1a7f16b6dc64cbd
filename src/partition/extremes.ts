/**
 * The running-minimum and running-maximum steps of every min/max in the
 * store (partition scans, window buckets, the coordinator's filter path, the
 * MetricStore's scans), so that they agree with Math.min/Math.max on zeros:
 * -0 is below +0, so min(0, -0) is -0 and max(-0, 0) is 0, whatever the order
 * the values are met in (partition, position, merge). A bare `x < min` keeps
 * whichever zero came first. Stored values are finite (append rejects NaN),
 * so NaN needs no case here.
 *
 * The common path stays one comparison: the zero test runs only when `x`
 * does not beat the current extreme by `<` / `>`. Small enough for V8 to
 * inline into the scan loops.
 */

/** True when `x` is to replace the running minimum `min`: smaller, or -0 against +0. */
export function belowMin(x: number, min: number): boolean {
  return x < min || (x === 0 && min === 0 && 1 / x < 0);
}

/** True when `x` is to replace the running maximum `max`: greater, or +0 against -0. */
export function aboveMax(x: number, max: number): boolean {
  return x > max || (x === 0 && max === 0 && 1 / max < 0);
}
