import { RingstoreError, ClosedError, invalidArgument } from '../errors.js';
import type { PartitionHandle } from '../partition/partition-handle.js';
import type { GroupColumns, Partial } from '../partition/partition-queries.js';
import type { PackedEvents } from '../partition/snapshot-pack.js';
import { FilterSums } from './filter-sums.js';
import { PackedMerge } from './merge.js';
import { refuseOtherRangeKeys } from './metric-types.js';
import type { ResolvedOptions } from './options.js';
import { toWireQuery } from './query.js';
import { mergeTop, selectTop } from './top-order.js';
import type { Query, StoredEvent, WindowAggregate } from './types.js';

/**
 * The queries of an EventStore (event-store.ts): each is fanned out to the
 * workers of the partitions it targets, in parallel, and their answers are
 * merged on the coordinator. EventStore extends it with the rest (appends,
 * lifecycle, images, statistics).
 */
export abstract class StoreQueries<T = unknown, V extends string = string> {
  /** Options after validation and defaults. */
  readonly options: ResolvedOptions<T>;
  protected abstract readonly handles: PartitionHandle[];
  protected closed = false;

  protected constructor(options: ResolvedOptions<T>) {
    this.options = options;
  }

  protected assertOpen(): void {
    if (this.closed) throw new ClosedError();
  }

  private valueIndex(name: string | undefined): number {
    if (name === undefined) return -1;
    const i = this.options.valueNames.indexOf(name);
    if (i < 0) {
      throw new RingstoreError('RS_ERR_UNKNOWN_VALUE', `"${name}" is not a declared value (declared: ${this.options.valueNames.join(', ') || 'none'})`, {
        value: name,
      });
    }
    return i;
  }

  private targets(q: Query<T> | undefined): PartitionHandle[] {
    if (q?.partitions === undefined) return this.handles;
    // Each partition once, in partition order: the merge breaks timestamp ties by list order.
    return [...new Set(q.partitions)].sort((a, b) => a - b).map((p) => this.handles[p]);
  }

  private async partials(v: number, q: Query<T> | undefined, extremes = false): Promise<Partial> {
    this.assertOpen();
    const wire = toWireQuery(q, this.options);
    if (q?.filter !== undefined) {
      const filter = q.filter;
      const sums = new FilterSums();
      const name = v >= 0 ? this.options.valueNames[v] : undefined;
      for await (const e of this.events({ ...q, filter: undefined, limit: undefined })) {
        if (filter(e)) sums.add(e.partition, e.position, name === undefined ? 0 : e.values[name]);
      }
      const total = sums.total();
      return name === undefined ? { count: total.count, sum: 0, min: Infinity, max: -Infinity } : total;
    }
    const parts = await Promise.all(this.targets(q).map((h) => h.call<Partial>('aggregate', v, wire, extremes)));
    return parts.reduce((a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) }), {
      count: 0, sum: 0, min: Infinity, max: -Infinity,
    });
  }

  /** Number of live events matching the query. */
  async count(q?: Query<T, V>): Promise<number> {
    return (await this.partials(-1, q)).count;
  }

  /** Sum of a declared value (0 when nothing matches). */
  async sum(value: V, q?: Query<T, V>): Promise<number> {
    return (await this.partials(this.valueIndex(value), q)).sum;
  }

  /** Average of a declared value (0 when nothing matches, as in the reference). */
  async average(value: V, q?: Query<T, V>): Promise<number> {
    const p = await this.partials(this.valueIndex(value), q);
    return p.count === 0 ? 0 : p.sum / p.count;
  }

  /** Minimum of a declared value (null when nothing matches). */
  async min(value: V, q?: Query<T, V>): Promise<number | null> {
    const p = await this.partials(this.valueIndex(value), q, true);
    return p.count === 0 ? null : p.min;
  }

  /** Maximum of a declared value (null when nothing matches). */
  async max(value: V, q?: Query<T, V>): Promise<number | null> {
    const p = await this.partials(this.valueIndex(value), q, true);
    return p.count === 0 ? null : p.max;
  }

  /**
   * Folds matching events in merged order. The reducer is a function, so it
   * runs on the coordinator over decoded events (slower than the built-ins).
   */
  async aggregate<A>(seed: A, reducer: (acc: A, event: StoredEvent<T>) => A, q?: Query<T, V>): Promise<A> {
    if (typeof reducer !== 'function') throw invalidArgument('reducer must be a function');
    let acc = seed;
    for await (const e of this.events(q)) acc = reducer(acc, e);
    return acc;
  }

  /** Per key: count, sum, min, max and average of a declared value. */
  async groupBy(value: V, q?: Query<T, V>): Promise<Map<string, WindowAggregate>> {
    const v = this.valueIndex(value);
    this.assertOpen();
    const out = new Map<string, WindowAggregate>();
    const add = (key: string, p: Partial): void => {
      const cur = out.get(key);
      const count = (cur?.count ?? 0) + p.count;
      const sum = (cur?.sum ?? 0) + p.sum;
      out.set(key, {
        count,
        sum,
        min: Math.min(cur?.min ?? Infinity, p.min),
        max: Math.max(cur?.max ?? -Infinity, p.max),
        avg: count === 0 ? 0 : sum / count,
      });
    };
    if (q?.filter !== undefined) {
      const filter = q.filter;
      // Per key, added in the workers' order (filter-sums.ts), so a filter that keeps every event changes nothing.
      const perKey = new Map<string, FilterSums>();
      for await (const e of this.events({ ...q, filter: undefined, limit: undefined })) {
        if (!filter(e)) continue;
        let sums = perKey.get(e.key);
        if (sums === undefined) perKey.set(e.key, (sums = new FilterSums()));
        sums.add(e.partition, e.position, e.values[value]);
      }
      for (const [key, sums] of perKey) add(key, sums.total());
      return out;
    }
    for (const part of await this.groupColumns(v, q)) {
      part.keys.forEach((k, i) => add(k, { count: part.count[i], sum: part.sum[i], min: part.min[i], max: part.max[i] }));
    }
    return out;
  }

  private groupColumns(v: number, q: Query<T> | undefined): Promise<GroupColumns[]> {
    const wire = toWireQuery(q, this.options);
    return Promise.all(this.targets(q).map((h) => h.call<GroupColumns>('groupBy', v, wire)));
  }

  /**
   * The k keys with the greatest sum of a declared value, in the order of
   * top-order.ts: +Infinity, finite sums descending, -Infinity, NaN (a key
   * placed in partitions whose sums overflow both ways); equal sums by key.
   */
  async top(k: number, value: V, q?: Query<T, V>): Promise<{ key: string; value: number }[]> {
    if (!Number.isInteger(k) || k < 0) throw invalidArgument('k must be a non-negative integer');
    if (q?.filter !== undefined) {
      const groups = await this.groupBy(value, q);
      return selectTop([...groups].map(([key, g]) => ({ key, value: g.sum })), k);
    }
    const v = this.valueIndex(value);
    this.assertOpen();
    // Sums per key straight from the columns; a key lives in one partition unless placed explicitly,
    // so the workers send every key's sum (a per-partition cut at k would drop a placed key's partials).
    return mergeTop(await this.groupColumns(v, q), k);
  }

  /** The partitions' matching events (packed: src/partition/snapshot-pack.ts, snapshot-copy.ts), merged. */
  private async merged(q: Query<T> | undefined, limit: number | undefined): Promise<PackedMerge<T>> {
    this.assertOpen();
    const wire = { ...toWireQuery(q, this.options), ...(limit !== undefined ? { limit } : {}) };
    const targets = this.targets(q);
    const parts = await Promise.all(targets.map((h) => h.call<PackedEvents>('snapshot', wire)));
    parts.forEach((p, i) => ((p as PackedEvents & { partition: number }).partition = targets[i].index));
    return new PackedMerge<T>(parts, this.options.valueNames);
  }

  /**
   * Matching live events, merged across partitions by timestamp, then
   * partition, then position: an approximate global order (partitions are
   * read at slightly different instants, so it is not a cut). Each
   * partition's part is one instant of that partition, taken by its worker
   * between two commit batches while producers keep appending: an event is
   * never torn, and events evicted by wrap-around are either all in (as of
   * that instant) or out, never a hole in the middle.
   */
  async snapshot(q?: Query<T, V>): Promise<StoredEvent<T>[]> {
    const limit = q?.limit ?? Infinity;
    const filter = q?.filter;
    const merge = await this.merged(q, filter === undefined && Number.isFinite(limit) ? limit : undefined);
    if (filter === undefined) {
      // Every event is kept: one array of the final length, filled in order.
      const out = new Array<StoredEvent<T>>(Math.min(merge.remaining, limit));
      for (let i = 0; i < out.length; i++) out[i] = merge.next()!;
      return out;
    }
    const out: StoredEvent<T>[] = [];
    if (limit <= 0) return out;
    for (let e = merge.next(); e !== undefined; e = merge.next()) {
      if (!filter(e)) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Like {@link snapshot}, as an async iterator that decodes as it goes. */
  async *events(q?: Query<T, V>): AsyncGenerator<StoredEvent<T>> {
    const limit = q?.limit ?? Infinity;
    const filter = q?.filter;
    const merge = await this.merged(q, filter === undefined && Number.isFinite(limit) ? limit : undefined);
    let n = 0;
    if (limit <= 0) return;
    for (let e = merge.next(); e !== undefined; e = merge.next()) {
      if (filter !== undefined && !filter(e)) continue;
      yield e;
      if (++n >= limit) return;
    }
  }

  /**
   * Window aggregate of a declared value from the time buckets, in
   * O(buckets). Without a range, each partition's window as in the
   * reference: [newest - sizeMs, newest], both inclusive, where newest is
   * the newest timestamp the partition has seen. With `from`/`to` (ms,
   * inclusive; a missing end is taken from the window), the buckets kept
   * that overlap [from, to]. Granularity is one bucket (`bucketMs`): every
   * event of a bucket that overlaps the range is counted. Needs the `window`
   * option.
   */
  async windowAggregate(value: V, range: { from?: number; to?: number } = {}): Promise<WindowAggregate> {
    const v = this.valueIndex(value);
    const w = this.options.window;
    if (w === null) throw new RingstoreError('RS_ERR_WINDOW_DISABLED', 'windowAggregate needs the window option');
    this.assertOpen();
    if (range === null || typeof range !== 'object') throw invalidArgument('range must be an object');
    refuseOtherRangeKeys(range);
    const anchored = range.from === undefined && range.to === undefined;
    const to = anchored ? null : range.to ?? Infinity;
    const from = anchored ? null : range.from ?? -Infinity;
    const bad = (x: unknown): boolean => x !== null && (typeof x !== 'number' || Number.isNaN(x));
    if (bad(from) || bad(to)) throw invalidArgument('from and to must be numbers');
    const parts = await Promise.all(this.handles.map((h) => h.call<{ count: number; perValue: Partial[] }>('window', from, to)));
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const p of parts) {
      const x = p.perValue[v];
      count += x.count;
      sum += x.sum;
      min = Math.min(min, x.min);
      max = Math.max(max, x.max);
    }
    return { count, sum, min: count ? min : null, max: count ? max : null, avg: count ? sum / count : 0 };
  }
}
