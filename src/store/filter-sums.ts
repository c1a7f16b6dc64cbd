import { aboveMax, belowMin } from '../partition/extremes.js';
import type { Partial } from '../partition/partition-queries.js';

/**
 * Count, sum, min and max of events that passed a `filter` (which runs on the
 * coordinator, over events in merged order), added in the order the workers
 * add when there is no filter: each partition's events by position, then the
 * partitions' partials in partition order from 0. Floating-point addition is
 * not associative (1e308 + 1e308 - 1e308 is Infinity one way, 1e308 the
 * other), so adding in merged order made `sum(v, { filter: () => true })`
 * differ from `sum(v)`, and `top` rank a key differently with such a filter.
 */
export class FilterSums {
  /** Per partition: [position, value] of each event kept, in arrival (merged) order. */
  private readonly parts = new Map<number, [number, number][]>();

  add(partition: number, position: number, x: number): void {
    let list = this.parts.get(partition);
    if (list === undefined) this.parts.set(partition, (list = []));
    list.push([position, x]);
  }

  /** The partial the workers' order gives. */
  total(): Partial {
    const out: Partial = { count: 0, sum: 0, min: Infinity, max: -Infinity };
    for (const p of [...this.parts.keys()].sort((a, b) => a - b)) {
      // Merged order within a partition is (timestamp, position); the workers add by position.
      const list = this.parts.get(p)!.sort((a, b) => a[0] - b[0]);
      let sum = 0;
      for (const [, x] of list) {
        sum += x;
        if (belowMin(x, out.min)) out.min = x;
        if (aboveMax(x, out.max)) out.max = x;
      }
      out.count += list.length;
      out.sum += sum;
    }
    return out;
  }
}
