/**
 * `DurableMetricStore`: a `MetricStore` that keeps what it acknowledged
 * across restarts (`MetricStore.open`). Its writes are queued and written to
 * its log as one frame per batch (metric-journal.ts), then applied to the
 * in-memory store; their promises resolve after that. Queries read memory, so
 * they see a sample once its batch is written.
 *
 * See docs/metric-store.md, "Durability".
 * @module
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { lockDataDir, type DataDirLock } from '../durability/dir-lock.js';
import { openError } from '../durability/errors.js';
import { openDataDirMeta } from '../durability/meta.js';
import { ClosedError, RingstoreError, invalidArgument, invalidOption } from '../errors.js';
import { MetricJournal, type MetricRestoreSummary } from './metric-journal.js';
import { OpBatch, applyOps } from './metric-ops.js';
import { MetricStore } from './metric-store.js';
import {
  badKey, isMetricKey, checkColumns, checkId, nonFinite, staleId, validateOptions,
  type MetricAggregate, type MetricStoreOptions, type MetricStoreStats, type TimeRange, type TopEntry,
} from './metric-types.js';
import { DURABILITY_NAMES, resolveDurability } from './options.js';

export type { MetricRestoreSummary } from './metric-journal.js';

/** A batch is written at the latest when it holds this many operations (group commit within one tick otherwise). */
const MAX_BATCH_OPS = 65_536;
/** A MetricStore's durability also takes the `io` test hook. */
const METRIC_DURABILITY_NAMES: ReadonlySet<string> = new Set([...DURABILITY_NAMES, 'io']);
/** Most samples of one `addMany` (its frame stays well below the log's 1 GiB frame limit). */
const MAX_ADD_MANY = 16_000_000;

/** The promise of a queued batch, and the results of its `keyId` / `releaseKeyId` operations. */
interface Pending {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  results: (number | boolean | Error)[];
}

/**
 * A durable metric store: the queries of {@link MetricStore}, and writes that
 * resolve once written to the data directory (under `fsync: 'always'`,
 * fsynced). Writes made in the same tick share one frame and one fsync.
 *
 * @example
 * ```ts fragment
 * const store = await MetricStore.open({ capacity: 100_000, durability: { dir: './metrics', fsync: 'always' } });
 * await store.add('cpu', 0.42);
 * store.average('cpu');
 * await store.close();
 * ```
 */
export class DurableMetricStore implements AsyncDisposable {
  /** What the restore at open did (also logged: `restored N samples in T ms`). */
  readonly restored: MetricRestoreSummary;
  readonly #core: MetricStore;
  readonly #journal: MetricJournal;
  readonly #lock: DataDirLock;
  readonly #logger: Logger | undefined;
  readonly #timer: NodeJS.Timeout;
  #batch = new OpBatch();
  #spare = new OpBatch();
  #pending: Pending | null = null;
  #immediate: NodeJS.Immediate | null = null;
  /** Ids released in the queued batch: `addById` refuses them already. */
  readonly #releasing = new Set<number>();
  /** The first write failure since the last `flush()` (reported by `flush` and `close`). */
  #error: unknown = undefined;
  #closed = false;
  /** True while a batch is applied (a write from onDiscarded must not overtake it). */
  #applying = false;
  #closing: Promise<void> | undefined;

  private constructor(core: MetricStore, journal: MetricJournal, lock: DataDirLock, restored: MetricRestoreSummary, logger: Logger | undefined, tickMs: number) {
    this.#core = core;
    this.#journal = journal;
    this.#lock = lock;
    this.restored = restored;
    this.#logger = logger;
    this.#timer = setInterval(() => this.#pending === null && this.#journal.tick(), tickMs).unref();
  }

  /**
   * Opens a durable store (see {@link MetricStore.open}): `RS_ERR_INVALID_OPTION`
   * on bad options, `RS_ERR_DATA_DIR_LOCKED` if the directory is open
   * elsewhere, `RS_ERR_DATA_DIR_MISMATCH` if it was made with another
   * capacity, partition count or `maxRememberedKeys`, `RS_ERR_LOG_CORRUPT`
   * (naming the file and offset) on damage a crash cannot explain (open with
   * `durability.repair` to cut the log there).
   */
  static async open(options: MetricStoreOptions): Promise<DurableMetricStore> {
    if (options === null || typeof options !== 'object') throw invalidOption('MetricStore options must be an object');
    const { durability, logger, ...memory } = options;
    const d = resolveDurability(durability, METRIC_DURABILITY_NAMES);
    if (d === null) throw invalidOption('MetricStore.open needs the durability option; an in-memory store is MetricStore.create(options)', { option: 'durability' });
    const io = durability?.io;
    if (io !== undefined && (io === null || typeof io !== 'object')) throw invalidOption('options.durability.io must be an Io object', { option: 'durability.io' });
    const v = validateOptions({ ...memory, logger });
    // The restore replays evictions that were reported before the restart: not again.
    const gate = { replaying: true };
    const user = v.onDiscarded;
    const core = new MetricStore({
      ...memory,
      onDiscarded: user === null ? undefined : (key, value, ts, p) => void (gate.replaying || user(key, value, ts, p)),
    });
    const root = path.resolve(d.dir);
    const lock = await lockDataDir(root); // creates the directory
    try {
      const { changed } = openDataDirMeta(root, {
        partitions: v.partitions,
        geometry: { store: 'metric', capacity: v.capacity, maxRememberedKeys: v.maxRememberedKeys },
      }, { io });
      if (changed.length > 0) {
        throw new RingstoreError('RS_ERR_DATA_DIR_MISMATCH', `data directory ${root} was made with other ${changed.join(', ')}; open it with the same options, or use another directory`, { dir: root, changed });
      }
      const { journal, restored } = MetricJournal.open(core, root, { ...d, io }, logger);
      gate.replaying = false;
      return new DurableMetricStore(core, journal, lock, restored, logger, Math.min(d.intervalMs, d.checkpointIntervalMs, 1000));
    } catch (err) {
      await lock.release();
      throw openError(root, err);
    }
  }

  /** Number of partitions. */
  get partitions(): number {
    return this.#core.partitions;
  }

  /** Total capacity in samples. */
  get capacity(): number {
    return this.#core.capacity;
  }

  /**
   * Queues one sample; resolves once it is written (and visible to queries).
   * Throws at once, storing nothing, on a bad argument (as
   * `MetricStore.add`) or after `close()`. Rejects with `RS_ERR_DISK_FULL`
   * (nothing of its batch is stored; later writes try again) or `RS_ERR_IO`
   * (the store takes no more writes until reopened).
   */
  add(key: string, value: number, timestamp?: number): Promise<void> {
    this.#usable();
    if (!isMetricKey(key)) throw badKey(key);
    const ts = timestamp === undefined ? Date.now() : timestamp;
    if (!Number.isFinite(value) || !Number.isFinite(ts)) throw nonFinite(value, ts);
    const done = this.#queue();
    this.#batch.sample(key, value, ts);
    this.#writeIfFull();
    return done.promise;
  }

  /** {@link add} for an id from {@link keyId} (refused once its release is queued). */
  addById(id: number, value: number, timestamp?: number): Promise<void> {
    this.#usable();
    const key = Number.isSafeInteger(id) && id >= 0 && !this.#releasing.has(id) ? this.#core.keyOf(id) : undefined;
    if (key === undefined) throw staleId(id);
    return this.add(key, value, timestamp);
  }

  /** `MetricStore.addMany`, written as one frame: all of it is stored, or none. */
  addMany(keys: ArrayLike<string>, values: ArrayLike<number>, timestamps?: ArrayLike<number>): Promise<void> {
    this.#usable();
    checkColumns(keys, values, timestamps);
    const n = keys.length;
    if (n > MAX_ADD_MANY) throw invalidArgument(`addMany: at most ${MAX_ADD_MANY} samples per call on a durable store, got ${n}`, { samples: n });
    if (n === 0) return Promise.resolve();
    if (this.#batch.n > 0 && this.#batch.n + n > MAX_BATCH_OPS) this.#write();
    const done = this.#queue();
    const now = Date.now();
    for (let i = 0; i < n; i++) this.#batch.sample(keys[i], values[i], timestamps === undefined ? now : timestamps[i]);
    this.#writeIfFull();
    return done.promise;
  }

  /** `MetricStore.keyId`, durable: resolves with the id once the pin is written. */
  keyId(key: string): Promise<number> {
    this.#usable();
    if (!isMetricKey(key)) throw badKey(key);
    const done = this.#queue();
    const i = this.#batch.pin(key);
    this.#writeIfFull();
    return done.promise.then(() => {
      const r = done.results[i];
      if (r instanceof Error) throw r;
      return r as number;
    });
  }

  /** `MetricStore.releaseKeyId`, durable: `addById` refuses the id at once; resolves once written. */
  releaseKeyId(id: number): Promise<boolean> {
    this.#usable();
    checkId(id);
    const done = this.#queue();
    const i = this.#batch.unpin(id);
    this.#releasing.add(id);
    this.#writeIfFull();
    return done.promise.then(() => done.results[i] as boolean);
  }

  /** The key of a current pin id, or `undefined`. */
  keyOf(id: number): string | undefined {
    return this.#core.keyOf(id);
  }

  /** `MetricStore.clear`, recorded in the log; resolves once written. */
  clear(): Promise<void> {
    this.#usable();
    const done = this.#queue();
    this.#batch.clear();
    return done.promise;
  }

  /** Same as {@link MetricStore.count}. */
  count(key?: string | TimeRange, range?: TimeRange): number {
    return this.#core.count(key, range);
  }

  /** Same as {@link MetricStore.sum}. */
  sum(key?: string | TimeRange, range?: TimeRange): number {
    return this.#core.sum(key, range);
  }

  /** Same as {@link MetricStore.average}. */
  average(key?: string | TimeRange, range?: TimeRange): number {
    return this.#core.average(key, range);
  }

  /** Same as {@link MetricStore.min}. */
  min(key?: string | TimeRange, range?: TimeRange): number | null {
    return this.#core.min(key, range);
  }

  /** Same as {@link MetricStore.max}. */
  max(key?: string | TimeRange, range?: TimeRange): number | null {
    return this.#core.max(key, range);
  }

  /** Same as {@link MetricStore.aggregate}. */
  aggregate(key?: string | TimeRange, range?: TimeRange): MetricAggregate {
    return this.#core.aggregate(key, range);
  }

  /** Same as {@link MetricStore.top}. */
  top(k: number, range?: TimeRange): TopEntry[] {
    return this.#core.top(k, range);
  }

  /** Same as {@link MetricStore.keys}. */
  keys(): string[] {
    return this.#core.keys();
  }

  /** Same as {@link MetricStore.stats}. */
  get stats(): MetricStoreStats {
    return this.#core.stats;
  }

  /**
   * Writes what is queued now, without waiting for the end of the tick.
   * Rejects with the first write failure since the last `flush()` (a batch
   * whose promise nobody awaited included).
   */
  flush(): Promise<void> {
    this.#write();
    const err = this.#error;
    this.#error = undefined;
    return err === undefined ? Promise.resolve() : Promise.reject(err);
  }

  /**
   * Writes what is queued, a last checkpoint, syncs and closes the log, and
   * releases the directory. Later writes throw `RS_ERR_CLOSED`; queries keep
   * answering from memory. Rejects (the store is closed all the same) with a
   * write failure not yet reported by `flush()`, or the checkpoint's.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#write();
      clearInterval(this.#timer);
      let failure = this.#error;
      try {
        this.#journal.close();
      } catch (err) {
        this.#logger?.warn({ err }, 'the last checkpoint of a metric store failed; the log keeps everything');
        failure ??= err;
      }
      await this.#lock.release();
      if (failure !== undefined) throw failure;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #usable(): void {
    if (this.#closed) throw new ClosedError('the metric store is closed');
  }

  /** The queued batch's promise; the first write of a tick schedules the batch's write. */
  #queue(): Pending {
    if (this.#pending !== null) return this.#pending;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((a, b) => ((resolve = a), (reject = b)));
    promise.catch(() => undefined); // not awaited: flush() and close() report it
    this.#pending = { promise, resolve, reject, results: [] };
    this.#immediate = setImmediate(() => this.#write());
    return this.#pending;
  }

  #writeIfFull(): void {
    if (this.#batch.n >= MAX_BATCH_OPS) this.#write();
  }

  /** Writes the queued batch as one frame, then applies it to memory and settles its promise. */
  #write(): void {
    const done = this.#pending;
    if (done === null || this.#applying) return;
    this.#pending = null;
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    const batch = this.#batch;
    this.#batch = this.#spare; // writes made by onDiscarded while this one applies go to the next batch
    this.#spare = batch;
    this.#releasing.clear();
    try {
      this.#journal.write(batch);
    } catch (err) {
      batch.reset();
      this.#error ??= err;
      done.reject(err);
      return;
    }
    this.#applying = true;
    try {
      done.results = applyOps(this.#core, batch);
    } finally {
      this.#applying = false;
      batch.reset();
    }
    done.resolve();
    this.#journal.applied();
  }
}
