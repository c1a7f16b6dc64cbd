// The plain model behind test/queries.property.test.ts: the live events of a
// store (per partition: positions in commit order, versions per key, the
// newest `capacityPerPartition` positions kept, purges) and every query form
// answered over them by brute force, as README.md ("The embedded store in one
// page"), src/store/types.ts (Query) and docs/architecture.md ("Life of a
// query") describe it.

export interface Ev {
  k: string;
  t: string;
  ts: number;
  amount: number;
  big: number;
  pad: string;
}

export type ValueName = 'amount' | 'big';
export const VALUE_NAMES: ValueName[] = ['amount', 'big'];

export interface ModelEvent {
  partition: number;
  position: number;
  version: number;
  /** The caller's id or the one append() resolved with; null when unknown (tryAppend without an id). */
  id: string | null;
  payload: Ev;
  purged: boolean;
  /** Not counted by the window buckets (older than the window when committed, or committed before a clear()). */
  uncounted?: boolean;
}

/** Named predicates, so a failing query prints as data. */
export const FILTERS = {
  all: () => true, // must change nothing (filter-sums.ts)
  oddVersion: (e: { version: number }) => e.version % 2 === 1,
  padded: (e: { payload: unknown }) => (e.payload as Ev).pad.length > 0,
  notFirstPartition: (e: { partition: number }) => e.partition !== 0,
} as const;
export type FilterName = keyof typeof FILTERS;

export type Op = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';
export interface QuerySpec {
  from?: number;
  to?: number;
  keys?: (string | number)[];
  fromVersion?: number;
  toVersion?: number;
  partitions?: number[];
  where?: { type?: string | string[]; values?: { [v in ValueName]?: { [op in Op]?: number } } };
  filter?: FilterName;
  limit?: number;
}

const OPS: Record<Op, (y: number, x: number) => boolean> = {
  eq: (y, x) => y === x,
  ne: (y, x) => y !== x,
  gt: (y, x) => y > x,
  gte: (y, x) => y >= x,
  lt: (y, x) => y < x,
  lte: (y, x) => y <= x,
};

export interface Agg {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  avg: number;
}

/**
 * count/sum/min/max/avg as the store defines them: min/max as Math.min/Math.max (-0 below 0); the sum in
 * the order README.md states, each partition's events by position from 0, then the partitions' sums in
 * partition order from 0 (floating-point addition depends on the order once values are huge).
 */
export function aggregateOf(events: ModelEvent[], v: ValueName): Agg {
  const xs = events.map((e) => e.payload[v]);
  const parts = new Map<number, ModelEvent[]>();
  for (const e of events) parts.set(e.partition, [...(parts.get(e.partition) ?? []), e]);
  let sum = 0;
  for (const p of [...parts.keys()].sort((a, b) => a - b)) {
    let s = 0;
    for (const e of parts.get(p)!.sort((a, b) => a.position - b.position)) s += e.payload[v];
    sum += s;
  }
  return {
    count: xs.length,
    sum,
    min: xs.length ? Math.min(...xs) : null,
    max: xs.length ? Math.max(...xs) : null,
    avg: xs.length ? sum / xs.length : 0,
  };
}

/** The top(k) order of README.md: +Infinity, finite descending, -Infinity, NaN; ties by key in code-unit order. */
export function topOf(sums: Map<string, number>, k: number): { key: string; value: number }[] {
  const rank = (v: number): number => (v === Infinity ? 0 : v === -Infinity ? 2 : Number.isNaN(v) ? 3 : 1);
  return [...sums]
    .map(([key, value]) => ({ key, value }))
    .sort((a, b) => rank(a.value) - rank(b.value) || (rank(a.value) === 1 && a.value !== b.value ? (a.value > b.value ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, k);
}

export class QueryModel {
  readonly events: ModelEvent[] = [];
  private readonly tails: number[];
  private readonly versions = new Map<string, number>();
  /** Per partition: the newest bucket number counted by the window (window-buckets.ts), -Infinity after clear(). */
  private readonly latest: number[];
  private readonly newest: number[];

  constructor(
    readonly partitions: number,
    readonly capacityPerPartition: number,
    readonly window: { bucketMs: number; buckets: number },
  ) {
    this.tails = Array.from({ length: partitions }, () => 0);
    this.latest = this.tails.map(() => -Infinity);
    this.newest = this.tails.map(() => -Infinity);
  }

  version(p: number, key: string): number {
    return this.versions.get(`${p}\u0000${key}`) ?? 0;
  }

  commit(p: number, e: Ev, id: string | null): ModelEvent {
    const position = ++this.tails[p];
    const version = this.version(p, e.k) + 1;
    this.versions.set(`${p}\u0000${e.k}`, version);
    const ev: ModelEvent = { partition: p, position, version, id, payload: e, purged: false };
    this.events.push(ev);
    const n = Math.floor(e.ts / this.window.bucketMs);
    // An event older than the window is never counted by it; a newer one moves the window.
    if (n > this.latest[p] - (this.window.buckets + 1)) {
      this.latest[p] = Math.max(this.latest[p], n);
      this.newest[p] = Math.max(this.newest[p], e.ts);
    } else ev.uncounted = true;
    return ev;
  }

  isLive(e: ModelEvent): boolean {
    return !e.purged && e.position > this.tails[e.partition] - this.capacityPerPartition;
  }

  live(): ModelEvent[] {
    return this.events.filter((e) => this.isLive(e));
  }

  purge(cutoff: number): number {
    let n = 0;
    for (const e of this.live()) {
      if (e.payload.ts < cutoff) {
        e.purged = true;
        n++;
      }
    }
    return n;
  }

  clear(): number {
    const n = this.purge(Infinity);
    this.latest.fill(-Infinity);
    this.newest.fill(-Infinity);
    for (const e of this.events) e.uncounted = true;
    return n;
  }

  /** Matching live events in merged order (timestamp, partition, position), `filter` applied, no limit. */
  matching(q: QuerySpec): ModelEvent[] {
    const keys = q.keys?.map(String);
    const types = q.where?.type === undefined ? undefined : typeof q.where.type === 'string' ? [q.where.type] : q.where.type;
    const cmps = Object.entries(q.where?.values ?? {}).flatMap(([v, c]) => Object.entries(c ?? {}).map(([op, x]) => [v as ValueName, op as Op, x as number] as const));
    const filter = q.filter === undefined ? undefined : FILTERS[q.filter];
    return this.live()
      .filter((e) => {
        const x = e.payload;
        if (q.from !== undefined && x.ts < q.from) return false;
        if (q.to !== undefined && x.ts > q.to) return false;
        if (keys !== undefined && !keys.includes(x.k)) return false;
        if (q.fromVersion !== undefined && e.version < q.fromVersion) return false;
        if (q.toVersion !== undefined && e.version > q.toVersion) return false;
        if (q.partitions !== undefined && !q.partitions.includes(e.partition)) return false;
        if (types !== undefined && !types.includes(x.t)) return false;
        return cmps.every(([v, op, operand]) => OPS[op](x[v], operand));
      })
      .sort((a, b) => a.payload.ts - b.payload.ts || a.partition - b.partition || a.position - b.position)
      .filter((e) => filter === undefined || filter(e));
  }

  /** What snapshot(), events() and aggregate() see: the matching events, at most `limit`. */
  limited(q: QuerySpec): ModelEvent[] {
    const all = this.matching(q);
    return q.limit === undefined ? all : all.slice(0, q.limit);
  }

  groupBy(v: ValueName, q: QuerySpec): Map<string, Agg> {
    const per = new Map<string, ModelEvent[]>();
    for (const e of this.matching(q)) per.set(e.payload.k, [...(per.get(e.payload.k) ?? []), e]);
    return new Map([...per].map(([k, es]) => [k, aggregateOf(es, v)]));
  }

  /**
   * windowAggregate as window-buckets.ts documents it: per partition, the live
   * events counted by its window (not older than it when they came) whose bucket
   * overlaps [from, to]; without a range, [newest - size, newest] of each partition.
   */
  windowAggregate(v: ValueName, range: { from?: number; to?: number }): Agg {
    const { bucketMs, buckets } = this.window;
    const xs: ModelEvent[] = [];
    for (const e of this.live()) {
      if (e.uncounted) continue;
      const p = e.partition;
      const anchored = range.from === undefined && range.to === undefined;
      const from = anchored ? this.newest[p] - bucketMs * buckets : range.from ?? -Infinity;
      const to = anchored ? this.newest[p] : range.to ?? Infinity;
      const n = Math.floor(e.payload.ts / bucketMs);
      if (n <= this.latest[p] - (buckets + 1)) continue;
      if (n < Math.floor(from / bucketMs) || n > Math.floor(to / bucketMs)) continue;
      xs.push(e);
    }
    return aggregateOf(xs, v);
  }
}
