/**
 * The one order of top(k), used wherever top-k entries are sorted or merged
 * (EventStore.top over the partitions' per-key sums and over a filter's
 * groups, MetricStore.top), so that every path ranks the same entries the
 * same way. A total order, so the sort is deterministic: `b.value - a.value`
 * is NaN for two infinities of one sign and for any NaN, which a comparator
 * must never return (Array.prototype.sort then orders by chance).
 *
 * Order: +Infinity first, then finite values descending, then -Infinity,
 * then NaN; equal values (two +Infinity, two NaN, 0 and -0 included) by key,
 * ascending in code-unit order (`<`, as `keys()` sorts). Sums reach the
 * infinities by overflow (values are finite), and NaN when a key placed in
 * several partitions sums to +Infinity in one and -Infinity in another.
 */

/** A top(k) row: a key and its sum. */
export interface TopEntry {
  key: string;
  value: number;
}

/** 0: +Infinity, 1: finite, 2: -Infinity, 3: NaN. */
function rank(v: number): number {
  if (v === Infinity) return 0;
  if (v === -Infinity) return 2;
  return v === v ? 1 : 3;
}

/** The top(k) comparator: negative when `a` ranks before `b` (see the module's order). */
export function compareTop(a: TopEntry, b: TopEntry): number {
  const ra = rank(a.value);
  const rb = rank(b.value);
  if (ra !== rb) return ra - rb;
  if (ra === 1 && a.value !== b.value) return a.value > b.value ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The first `k` of `entries` in {@link compareTop} order (sorts `entries` in place). `k`: a non-negative integer, checked by the caller. */
export function selectTop<E extends TopEntry>(entries: E[], k: number): E[] {
  entries.sort(compareTop);
  return entries.length > k ? entries.slice(0, k) : entries;
}

/**
 * Merges per-partition per-key sums (keys and sums as parallel columns, as
 * the workers return them) into the top `k`: a key found in several
 * partitions (placed explicitly) gets the sum of its partials.
 */
export function mergeTop(parts: Iterable<{ keys: readonly string[]; sum: ArrayLike<number> }>, k: number): TopEntry[] {
  const sums = new Map<string, number>();
  for (const part of parts) {
    const { keys, sum } = part;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const cur = sums.get(key);
      sums.set(key, cur === undefined ? sum[i]! : cur + sum[i]!);
    }
  }
  const rows: TopEntry[] = [];
  for (const [key, value] of sums) rows.push({ key, value });
  return selectTop(rows, k);
}
