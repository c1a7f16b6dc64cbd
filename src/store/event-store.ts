import path from 'node:path';
import { lockDataDir, type DataDirLock } from '../durability/dir-lock.js';
import { openError } from '../durability/errors.js';
import { openDataDirMeta } from '../durability/meta.js';
import { RingstoreError, invalidArgument, invalidOption } from '../errors.js';
import { keySet, unknownKey, unknownKeyMessage } from '../known-keys.js';
import { checkImage, type RestoreSummary } from '../partition/partition-log.js';
import { PartitionHandle } from '../partition/partition-handle.js';
import type { ThreadMemory } from '../partition/thread-memory.js';
import { ControlMemory, Ctl, PartitionMemory } from '../ring/layout.js';
import { hashKey } from '../partition/hash.js';
import { Comlink } from '../partition/rpc.js';
import { CommitWatch } from './commit-watch.js';
import { EventStoreBuilder } from './builder.js';
import { attachProducer, claimProducerSlot, describeStore, type AttachSelectors, type EventStoreDescriptor } from './descriptor.js';
import { geometryOf, partitionDurability, resolveOptions, type EventStoreOptions, type ResolvedOptions } from './options.js';
import { deliverPartitionEvent } from './partition-events.js';
import { Producer } from './producer.js';
import { StoreQueries } from './store-queries.js';
import { storeStats } from './store-stats.js';
import { StoreReader } from './store-reader.js';
import type { AppendOptions, AppendResults, CrashOutcome, PurgeOptions, StoreStats, TryAppendOptions } from './types.js';

/** Options of {@link EventStore.crashPartition}. */
export interface CrashOptions {
  afterRecords?: number;
  afterLogWrite?: boolean;
  afterCommitPoint?: boolean;
  afterEvictions?: boolean;
  terminate?: boolean;
}

const PURGE_KEYS = keySet<PurgeOptions>({ olderThan: 1 });
const CRASH_OPTIONS = keySet<CrashOptions>({ afterRecords: 1, afterLogWrite: 1, afterCommitPoint: 1, afterEvictions: 1, terminate: 1 });

/**
 * A partitioned, fixed-capacity, multi-core event store. The thread that
 * creates it is the coordinator: it routes appends by key into partitions'
 * shared rings, each committed by its own worker thread, and fans queries out
 * to every worker in parallel, merging their answers.
 *
 * @example
 * ```ts
 * const store = EventStore.create<{ type: string; user: string; amount: number }>({
 *   capacity: 10_000, partitions: 2, key: 'user', values: { amount: 'amount' },
 * });
 * await store.append({ type: 'deposit', user: 'ada', amount: 10 });
 * const total = await store.sum('amount'); // 10
 * await store.close();
 * ```
 */
export class EventStore<T = unknown, V extends string = string> extends StoreQueries<T, V> implements AsyncDisposable {
  private readonly mems: PartitionMemory[];
  private readonly ctl: ControlMemory;
  private readonly producer: Producer<T>;
  protected readonly handles: PartitionHandle[];
  private readonly watch: CommitWatch;
  private closing: Promise<void> | undefined;
  /** The data directory's lock (durable stores). */
  private lock: DataDirLock | undefined;

  private constructor(options: EventStoreOptions<T>, resolved?: ResolvedOptions<T>) {
    const o = resolved ?? resolveOptions(options);
    super(o);
    const geometry = geometryOf(o);
    try {
      this.mems = Array.from({ length: o.partitions }, () => PartitionMemory.allocate(geometry));
    } catch (cause) {
      // Sizes within the bounds may still exceed the machine's memory: a bare RangeError named no option.
      throw new RingstoreError('RS_ERR_INVALID_OPTION', `options.capacity and payloadBytes need ${o.partitions} shared buffers that could not be allocated`, { option: 'capacity' }, { cause });
    }
    this.ctl = ControlMemory.allocate(o.maxProducers);
    const slot = claimProducerSlot(this.ctl, this.mems);
    this.producer = new Producer<T>(this.mems, this.ctl, slot, o);
    this.handles = this.mems.map(
      (mem, i) =>
        new PartitionHandle(
          i,
          mem,
          this.ctl,
          {
            partition: i,
            window: o.window && { bucketMs: o.window.bucketMs, buckets: o.window.buckets },
            captureEvictions: o.onDiscarded !== undefined,
          },
          (e) => deliverPartitionEvent(o, i, e),
          { store: o.name, durability: o.durability === null ? null : partitionDurability(o.durability, i) },
          o.logger,
        ),
    );
    this.watch = new CommitWatch(this.mems);
  }

  /**
   * Creates an in-memory store and starts its partition workers. Throws
   * `RS_ERR_INVALID_OPTION` on bad options. A durable store (the `durability`
   * option) opens with {@link EventStore.open}.
   *
   * The names of `values` type the queries (`sum('nope')` does not compile)
   * when TypeScript infers them: with no type arguments
   * (`create({ values: { amount: (e: Order) => e.amount } })` infers the event
   * type from the selector), or with both (`create<Order, 'amount'>(...)`), or
   * with the builder's `withValue`. With the event type alone
   * (`create<Order>(...)`), TypeScript infers no other type argument: any
   * name compiles, and an undeclared one throws `RS_ERR_UNKNOWN_VALUE`.
   */
  static create<T = unknown, V extends string = string>(options: EventStoreOptions<T, V> = {}): EventStore<T, V> {
    const o = resolveOptions<T>(options);
    if (o.durability !== null) throw invalidOption('a durable store opens with `await EventStore.open(options)`: it restores its data first', { option: 'durability' });
    return new EventStore<T, V>(options, o);
  }

  /**
   * Opens a store. With the `durability` option: locks the data directory
   * (`RS_ERR_DATA_DIR_LOCKED` if another process has it), checks it was made
   * with the same partition count and geometry (`RS_ERR_DATA_DIR_MISMATCH`),
   * and resolves once every partition restored its checkpoint and log
   * (`RS_ERR_LOG_CORRUPT`, naming the file and offset, if a log is damaged
   * where a crash cannot explain it; open it with `durability.repair` to cut
   * it there). Without it, the same as {@link create}.
   *
   * @example
   * ```ts fragment
   * const store = await EventStore.open({ key: 'user', durability: { dir: './data', fsync: 'always' } });
   * ```
   */
  static async open<T = unknown, V extends string = string>(options: EventStoreOptions<T, V> = {}): Promise<EventStore<T, V>> {
    const o = resolveOptions<T>(options);
    if (o.durability === null) return new EventStore<T, V>(options, o);
    const root = path.resolve(o.durability.dir);
    const lock = await lockDataDir(root); // creates the directory
    let store: EventStore<T, V> | undefined;
    try {
      const g = geometryOf(o);
      const { changed } = openDataDirMeta(root, {
        partitions: o.partitions,
        geometry: {
          capacity: g.capacity, arenaBytes: g.arenaBytes, inputBytes: g.inputBytes, values: o.valueNames.join(','),
          maxProducers: g.maxProducers, dedupWindow: g.dedupWindow, dormantKeys: g.dormantKeys,
        },
      });
      if (changed.length > 0) {
        throw new RingstoreError('RS_ERR_DATA_DIR_MISMATCH', `data directory ${root} was made with other ${changed.join(', ')}; open it with the same options, or use another directory`, { dir: root, changed });
      }
      store = new EventStore<T, V>(options, o);
      store.lock = lock;
      // The workers are unref'd: keep the process alive while they restore.
      const keepAlive = setInterval(() => undefined, 1000);
      try {
        await Promise.all(store.handles.map((h) => h.whenReady()));
      } finally {
        clearInterval(keepAlive);
      }
      const failed = store.handles.find((h) => h.failure !== undefined);
      if (failed !== undefined) throw failed.failure;
      return store;
    } catch (err) {
      if (store !== undefined) await store.close();
      else await lock.release();
      throw openError(root, err);
    }
  }

  /** What each partition's restore did when it opened (durable stores; null entries otherwise). */
  get restored(): (RestoreSummary | null)[] {
    return this.handles.map((h) => h.restored);
  }

  /**
   * A fluent builder: `EventStore.builder<T>().withCapacity(1000).withKey('user').create()`.
   * Each `withValue(name, ...)` adds `name` to the value names the store's queries accept.
   */
  static builder<T = unknown>(): EventStoreBuilder<T> {
    return new EventStoreBuilder<T>((o) => EventStore.create<T>(o));
  }

  /**
   * Attaches a producer in another thread to a store, given its
   * {@link EventStore.descriptor}. Selectors that were functions must be given
   * again (functions cannot cross threads); property-path selectors travel
   * with the descriptor.
   */
  static attach<T = unknown>(descriptor: EventStoreDescriptor, selectors?: AttachSelectors<T>): Producer<T> {
    return attachProducer<T>(descriptor, selectors);
  }

  /** A reader of committed events straight from shared memory, for any thread (see {@link StoreReader}). */
  static reader<T = unknown>(descriptor: EventStoreDescriptor): StoreReader<T> {
    return new StoreReader<T>(descriptor);
  }

  /** A {@link StoreReader} on this store, in this thread. */
  reader(): StoreReader<T> {
    return new StoreReader<T>(this.descriptor());
  }

  /** A structured-cloneable handle for `EventStore.attach` in another thread. */
  descriptor(): EventStoreDescriptor {
    this.assertOpen();
    return describeStore(this.options, this.mems, this.ctl);
  }

  /** Partition count. */
  get partitions(): number {
    return this.options.partitions;
  }

  /**
   * Everything that sizes a partition's memory (and so its images), as the
   * store resolved it: two stores load each other's images, and replay one
   * log into the same state, only with equal geometries.
   */
  get geometry(): Readonly<Record<string, number | string>> {
    const o = this.options;
    return { partitions: o.partitions, ...geometryOf(o), maxEventBytes: o.maxEventBytes, values: o.valueNames.join(',') };
  }

  /** Effective total capacity (per-partition capacity × partitions). */
  get capacity(): number {
    return this.options.capacityPerPartition * this.options.partitions;
  }

  /** The partition `key` routes to (the same in every process: a stable hash). */
  partitionOf(key: string | number): number {
    if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
      throw invalidArgument('key must be a string or a finite number');
    }
    return hashKey(String(key)) % this.options.partitions;
  }

  /**
   * Commits of partition `p` so far, modulo 2^32 (an unsigned 32-bit
   * counter: a busy partition wraps it within days, so compare two values
   * with `===`, never `<`): pass it to {@link waitForCommit} to wait for
   * anything committed after you read the store.
   */
  commitCount(partition: number): number {
    this.checkPartition(partition);
    // The fence is an Int32 word (Atomics.waitAsync needs one): read as unsigned, it never goes negative.
    return Atomics.load(this.mems[partition].i32, PartitionMemory.ctl(Ctl.COMMIT_FENCE)) >>> 0;
  }

  /**
   * Resolves true once partition `p` commits after `since` (a value of
   * {@link commitCount}), at once if it already did, or false after
   * `timeoutMs`. One shared wait per partition, however many callers: the
   * way to follow a key without polling.
   */
  waitForCommit(partition: number, since: number, timeoutMs = 1000): Promise<boolean> {
    this.assertOpen();
    this.checkPartition(partition);
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw invalidArgument('timeoutMs must be a non-negative number');
    if (!Number.isInteger(since) || since < -(2 ** 31) || since >= 2 ** 32) throw invalidArgument('since must be a value of commitCount (an integer in [-2^31, 2^32))');
    // The fence word is an Int32: the same count, whether the caller kept it signed (before 2026-12-06) or not.
    return this.watch.wait(partition, since | 0, timeoutMs);
  }

  private checkPartition(p: number): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.handles.length) throw invalidArgument(`no partition ${String(p)}`);
  }

  /** See {@link Producer.tryAppend}. */
  tryAppend(event: T, opts?: TryAppendOptions): boolean {
    return this.producer.tryAppend(event, opts);
  }

  /** See {@link Producer.append}. */
  append<I extends T | readonly T[]>(input: I, opts?: AppendOptions): Promise<AppendResults<I>> {
    return this.producer.append(input, opts);
  }

  /** Resolves once every event appended before the call is committed (or rejected). */
  async flush(): Promise<void> {
    this.assertOpen();
    await Promise.all(this.handles.map((h) => h.call('flush')));
  }

  /**
   * Images of every partition's committed state (positions, key versions,
   * idempotency window, events, counters): what a durable checkpoint holds.
   * Each is taken between two commits of its partition; for one consistent
   * cut, call it while nothing is appended (`ringstore serve --nats` pauses
   * its log for it). Load them with {@link importImages}.
   */
  async exportImages(): Promise<Uint8Array[]> {
    this.assertOpen();
    return Promise.all(this.handles.map((h) => h.call<Uint8Array>('image')));
  }

  /**
   * Replaces the state of a store nothing was appended to with
   * {@link exportImages} of a store with the same options (one image per
   * partition): positions, versions, conflicts and duplicates then continue
   * exactly as in the store they came from. Throws `RS_ERR_INVALID_ARGUMENT`
   * (wrong count, a store that holds writes), `RS_ERR_INVALID_OPTION` (a
   * durable store), `RS_ERR_DATA_DIR_MISMATCH` (another geometry) or
   * `RS_ERR_LOG_CORRUPT` (another image format). Every image is checked
   * before any partition loads: a refused import leaves the store as it was.
   *
   * Each partition's worker gets only its image's bytes: with
   * `{ transfer: true }`, an image that spans its whole ArrayBuffer is moved
   * to the worker (detached here: the caller must not use it again);
   * otherwise its bytes are copied into a buffer of their own first (a view
   * sent as it is would copy its whole underlying buffer to the worker).
   */
  async importImages(images: readonly Uint8Array[], options: { transfer?: boolean } = {}): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(images) || images.length !== this.handles.length || images.some((x) => !(x instanceof Uint8Array))) {
      throw invalidArgument(`importImages needs one Uint8Array per partition (${this.handles.length})`);
    }
    if (options === null || typeof options !== 'object' || (options.transfer !== undefined && typeof options.transfer !== 'boolean')) {
      throw invalidArgument('importImages options.transfer must be a boolean');
    }
    if (this.options.durability !== null) throw invalidOption('a durable store restores from its own checkpoints', { option: 'durability' });
    if (this.stats.appended !== 0) throw invalidArgument('importImages needs a store nothing was appended to');
    images.forEach((x, i) => checkImage(this.mems[i]!, x));
    await Promise.all(this.handles.map((h, i) => {
      const x = images[i]!;
      const owned = options.transfer === true && x.byteOffset === 0 && x.byteLength === x.buffer.byteLength && x.buffer instanceof ArrayBuffer ? x : x.slice();
      return h.call('load', Comlink.transfer(owned, [owned.buffer as ArrayBuffer]));
    }));
  }

  /** Removes events with timestamp < olderThan in every partition; returns how many. */
  async purge(options: PurgeOptions): Promise<number> {
    if (options === null || typeof options !== 'object') throw invalidArgument('purge takes { olderThan }: a time in ms or a Date');
    const unknown = unknownKey(options, PURGE_KEYS);
    if (unknown !== undefined) throw invalidArgument(unknownKeyMessage('purge options', unknown, PURGE_KEYS));
    const { olderThan } = options;
    const cutoff = olderThan instanceof Date ? olderThan.getTime() : olderThan;
    if (typeof cutoff !== 'number' || Number.isNaN(cutoff)) throw invalidArgument('olderThan must be a number (ms) or a Date');
    this.assertOpen();
    const counts = await Promise.all(this.handles.map((h) => h.call<number>('purge', cutoff)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Removes every event (counted as purged); returns how many. */
  async clear(): Promise<number> {
    this.assertOpen();
    const counts = await Promise.all(this.handles.map((h) => h.call<number>('clear')));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Each partition worker's own memory (heap, buffers), by partition; null
   * where the worker failed or did not answer. One call per worker, not
   * counted in `stats.calls`: for monitoring (the daemon's `/metrics`).
   */
  async workerMemory(): Promise<(ThreadMemory | null)[]> {
    this.assertOpen();
    return Promise.all(this.handles.map((h) => h.memory().catch(() => null)));
  }


  /** Statistics read from shared memory (no round trip to the workers). */
  get stats(): StoreStats {
    return storeStats(this.mems, this.handles);
  }

  /**
   * Kills partition `p`'s worker abruptly (tests and chaos drills); it
   * restarts on the same memory. With `afterRecords`, the worker dies in the
   * drain in which the records it committed since the call reach that count,
   * before the drain's commit point (a crash in the middle of a batch; the
   * records of earlier drains stay committed); with `afterLogWrite`
   * too (durable stores), once that drain is in the log, just before its
   * commit point; with `afterCommitPoint` instead, in that drain's commit
   * point, just after its commit record flips and before the idempotency
   * window and the key directory are trimmed to their bounds; with
   * `afterEvictions` instead, in that drain just after it handed its evicted
   * copies to the coordinator, before it recorded that it did and before its
   * commit point. With
   * `terminate`, the thread is ended from outside at
   * whatever instruction it runs, the middle of a record's commit included
   * (the stress suite's random kills).
   *
   * Resolves when the worker exits next, with how it ended ({@link CrashOutcome}): an armed kill that no drain
   * reaches does not fire, an `afterEvictions` kill in a drain that evicted nothing ends as `no-evictions`, and
   * another kill (or a real crash) may end the worker first. Tests that mean a kill at one point check it.
   */
  crashPartition(p: number, opts: CrashOptions = {}): Promise<CrashOutcome> {
    this.checkPartition(p);
    if (opts === null || typeof opts !== 'object') throw invalidArgument('crashPartition options must be an object');
    const bad = unknownKey(opts, CRASH_OPTIONS);
    if (bad !== undefined) throw invalidArgument(`crashPartition options.${bad} is not an option (use ${[...CRASH_OPTIONS].join(', ')})`, { key: bad });
    const n = opts.afterRecords;
    if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw invalidArgument('afterRecords must be a positive integer');
    if (opts.afterLogWrite === true && (n === undefined || this.options.durability === null)) {
      throw invalidArgument('afterLogWrite needs afterRecords and a durable store');
    }
    if (opts.afterCommitPoint === true && (n === undefined || opts.afterLogWrite === true)) {
      throw invalidArgument('afterCommitPoint needs afterRecords, and takes no afterLogWrite');
    }
    if (opts.afterEvictions === true && (n === undefined || opts.afterLogWrite === true || opts.afterCommitPoint === true)) {
      throw invalidArgument('afterEvictions needs afterRecords, and takes no afterLogWrite or afterCommitPoint');
    }
    if (opts.terminate === true) {
      if (n !== undefined) throw invalidArgument('terminate takes no afterRecords');
      return this.handles[p].crash(0);
    }
    return this.handles[p].crash(n === undefined ? undefined : opts.afterLogWrite === true ? -n : n, opts.afterCommitPoint === true ? 'flip' : opts.afterEvictions === true ? 'evictions' : null);
  }

  /** Stops the workers after they commit what was published; pending appends reject with `ClosedError`. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      Atomics.store(this.ctl.i32, this.ctl.closedIndex, 1);
      // Workers commit what was published, then say they stopped; the producer settles on that.
      await Promise.all(this.handles.map((h) => h.close()));
      await this.producer.close();
      this.watch.close();
      await this.lock?.release();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
