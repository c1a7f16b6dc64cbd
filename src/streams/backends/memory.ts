/**
 * In-memory {@link KeyValueBackend}: the default backend. Values are stored by
 * reference (the stream layer hands it frozen copies). Keys are grouped by
 * folder ({@link MemFolder}): appending leaves in order (events by version,
 * monotonic ULIDs) is O(1) without hashing, range reads are a binary search,
 * and out-of-order writes fall back to a Map. Etags are counters, formatted as
 * strings only when handed out.
 *
 * By default the events of streams are not key-value records here but native
 * per-stream logs (`memory-streams.ts`) that sessions append to synchronously;
 * leases and snapshots stay key-value records.
 *
 * Nothing is kept for a stream or key that was only read: a folder is created
 * by the first write into it and dropped when a write, an undo or an expiry
 * leaves it empty; a stream's native log is created by its first append.
 */
import type { KeyValueBackend, KvAddOptions, KvBatchOp, KvBatchResult, KvEntry, KvListOptions, KvListed, KvRemoveOptions, KvSetOptions } from '../backend.js';
import { assertClock, systemClock, type Clock } from '../clock.js';
import { keySet } from '../../known-keys.js';
import { InvalidStreamOptionError, refuseUnknownOption, KvConcurrencyError, KvDuplicateKeyError, KvKeyNotFoundError, ProviderClosedError } from '../errors.js';
import { ExpiryQueue } from './expiry-queue.js';
import { MemFolder, type MemRec } from './memory-folder.js';
import { MemoryStreamLog, NativeStream } from './memory-streams.js';
import { checkFolder, checkKey, checkOps, checkRemoveOptions, checkWriteOptions } from './validate.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Clock for TTLs (default: the system clock). */
  clock?: Clock;
  /**
   * Keep the events and idempotency index of streams in native per-stream logs
   * (default true): appends are synchronous array pushes instead of key-value
   * batches. Those records are then not visible through the key-value methods;
   * `false` stores streams as key-value records, the layout every other backend
   * uses (to inspect or test that layout).
   */
  nativeStreams?: boolean;
}

const MEMORY_OPTIONS = keySet<MemoryBackendOptions>({ clock: 1, nativeStreams: 1 });

/** What {@link MemoryBackend.stats} reports. */
export interface MemoryBackendStats {
  /** Native stream logs held (streams with events, in the default layout). */
  readonly streams: number;
  /** Key-value folders held. */
  readonly folders: number;
  /** Key-value records held, over all folders. */
  readonly keys: number;
}

const etagOf = (n: number): string => `m${n}`;

/** How many recently used folders are matched before the folder map. */
const RECENT = 3;

/** The in-memory backend. Not durable, single process. */
export class MemoryBackend implements KeyValueBackend {
  /** `"memory"`. */
  readonly kind = 'memory';
  /** Not durable, single process. */
  readonly capabilities = Object.freeze({ durable: false, multiProcess: false });
  readonly #folders = new Map<string, MemFolder>();
  readonly #clock: Clock;
  /** Native stream logs by head key (streams written to); undefined when `nativeStreams` is false. */
  readonly #streams: Map<string, MemoryStreamLog> | undefined;
  /** Folders that may have been left empty by the current operation: {@link #sweep} drops the empty ones. */
  #maybeEmpty: MemFolder[] = [];
  /** Records written with a TTL, by expiry: each write first drops those that expired (nobody may read them again). */
  readonly #expiries = new ExpiryQueue<MemFolder>();
  #etag = 0;
  #closed = false;
  // The last folders resolved (most recent first): a batch alternating between a
  // stream's event and index folders skips the folder lookup (slice + hash).
  #recentNames: string[] = [];
  #recentFolders: MemFolder[] = [];
  // Leaf of the key last resolved by #folder.
  #leaf = '';

  /** @param options - optional clock for TTLs. */
  constructor(options: MemoryBackendOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidStreamOptionError('MemoryBackend options must be an object');
    refuseUnknownOption(options, MEMORY_OPTIONS, 'MemoryBackend options');
    const clock = options.clock ?? systemClock;
    assertClock(clock, 'MemoryBackend options.clock');
    this.#clock = clock;
    if (options.nativeStreams !== undefined && typeof options.nativeStreams !== 'boolean') throw new InvalidStreamOptionError('MemoryBackend options.nativeStreams must be a boolean');
    this.#streams = options.nativeStreams === false ? undefined : new Map();
  }

  /**
   * @internal A session's handle on the native log of the stream whose head
   * and lease keys are given (the log itself is created by the stream's first
   * append: opening and reading keep nothing), or undefined when the stream is
   * kept as key-value records: `nativeStreams` is false, or the stream already
   * has a head record written through the key-value methods (e.g. by a session
   * before this option existed), which it then keeps.
   */
  nativeStream(headKey: string, leaseKey: string): NativeStream | undefined {
    this.#open();
    const streams = this.#streams;
    if (streams === undefined) return undefined;
    if (!streams.has(headKey)) {
      const kv = this.#live(this.#folder(headKey, false), this.#leaf) !== undefined;
      this.#sweep();
      if (kv) return undefined;
    }
    const leafAt = leaseKey.lastIndexOf('/') + 1;
    const host = {
      closed: (): boolean => this.#closed,
      leases: (): MemFolder | undefined => (this.#closed ? undefined : this.#folders.get(leaseKey.slice(0, leafAt))),
      log: (create: boolean): MemoryStreamLog | undefined => {
        let log = streams.get(headKey);
        if (log === undefined && create) {
          log = new MemoryStreamLog();
          streams.set(headKey, log);
        }
        return log;
      },
    };
    return new NativeStream(host, leaseKey.slice(leafAt));
  }

  /**
   * What the backend holds: `streams`, the native stream logs (streams written
   * through a session); `folders`, the key-value folders; `keys`, the records
   * in them (expired ones not yet dropped included). A stream that was only
   * opened, read or refused a write adds nothing once its session is closed.
   */
  stats(): MemoryBackendStats {
    let keys = 0;
    for (const f of this.#folders.values()) keys += f.size;
    return { streams: this.#streams?.size ?? 0, folders: this.#folders.size, keys };
  }

  #open(): void {
    if (this.#closed) throw new ProviderClosedError('the in-memory key-value backend');
  }

  /** The folder of `key` (created when `create`), leaving the key's leaf in `#leaf`. */
  #folder(key: string, create: boolean): MemFolder | undefined {
    const names = this.#recentNames;
    for (let j = 0; j < names.length; j++) {
      const name = names[j]!;
      const ln = name.length;
      if (key.length > ln && key.startsWith(name) && key.indexOf('/', ln) === -1) {
        this.#leaf = key.slice(ln);
        return this.#recentFolders[j];
      }
    }
    const i = key.lastIndexOf('/');
    const name = key.slice(0, i + 1);
    this.#leaf = key.slice(i + 1);
    let f = this.#folders.get(name);
    if (f === undefined) {
      if (!create) return undefined;
      f = new MemFolder(name);
      this.#folders.set(name, f);
      // Created for a write that may yet fail (a conditional set of an absent key, an undone batch).
      this.#maybeEmpty.push(f);
    }
    if (names.length >= RECENT) {
      names.pop();
      this.#recentFolders.pop();
    }
    names.unshift(name);
    this.#recentFolders.unshift(f);
    return f;
  }

  /** The live record at `leaf` of `folder`; drops it when expired. */
  #live(folder: MemFolder | undefined, leaf: string): MemRec | undefined {
    const r = folder?.get(leaf);
    if (r === undefined) return undefined;
    if (r.expiresAt !== Infinity && r.expiresAt <= this.#clock.now()) {
      folder!.delete(leaf);
      this.#maybeEmpty.push(folder!);
      return undefined;
    }
    return r;
  }

  /**
   * Drops the folders the operation left empty, at its end only: within a
   * batch, an undo writes back into the folders it touched, which must still
   * be the ones in the map. A dropped folder is marked detached for native
   * streams' lease fences, and leaves the recent-folder cache.
   */
  #sweep(): void {
    const list = this.#maybeEmpty;
    if (list.length === 0) return;
    for (const f of list) {
      if (f.size !== 0 || f.detached || this.#folders.get(f.name) !== f) continue;
      this.#folders.delete(f.name);
      f.detached = true;
      const j = this.#recentFolders.indexOf(f);
      if (j >= 0) {
        this.#recentFolders.splice(j, 1);
        this.#recentNames.splice(j, 1);
      }
    }
    list.length = 0;
  }

  #expiry(ttlMs: number | undefined): number {
    return ttlMs === undefined ? Infinity : this.#clock.now() + ttlMs;
  }

  /** Writes `value` at `leaf` of `folder` with a new etag; a record with a TTL is queued for {@link #dropExpired}. */
  #put(folder: MemFolder, leaf: string, value: unknown, ttlMs: number | undefined): number {
    const etag = ++this.#etag;
    const expiresAt = this.#expiry(ttlMs);
    folder.put(leaf, value, etag, expiresAt);
    if (expiresAt !== Infinity) this.#expiries.push(expiresAt, folder, leaf, etag);
    return etag;
  }

  /**
   * Drops every record whose TTL ran out and that was not written again since (its etag is the queued one).
   * Called before each write, outside any batch's undo: memory follows the records alive, not every key
   * ever written with a TTL. Leaves the folders it empties to {@link #sweep}.
   */
  #dropExpired(): void {
    const now = this.#clock.now();
    for (let e = this.#expiries.popExpired(now); e !== undefined; e = this.#expiries.popExpired(now)) {
      const f = e.folder;
      if (f.detached || this.#folders.get(f.name) !== f) continue;
      const r = f.get(e.leaf);
      if (r === undefined || r.etag !== e.etag) continue;
      f.delete(e.leaf);
      this.#maybeEmpty.push(f);
    }
  }

  /**
   * Applies one operation. `undo`, when given, receives `folder, leaf, previous record`
   * triples (flat) for every change, to roll a failed batch back.
   */
  #apply(op: KvBatchOp, index: number | undefined, undo: unknown[] | undefined): KvBatchResult {
    const folder = this.#folder(op.key, op.op === 'add' || op.op === 'set');
    const leaf = this.#leaf;
    // An unconditional set without undo needs no read.
    const cur = op.op === 'set' && op.etag === undefined && undo === undefined ? undefined : this.#live(folder, leaf);
    switch (op.op) {
      case 'add': {
        if (cur !== undefined) throw new KvDuplicateKeyError(op.key, index);
        const etag = this.#put(folder!, leaf, op.value, op.ttlMs);
        undo?.push(folder, leaf, undefined);
        return etagOf(etag);
      }
      case 'set': {
        const curTag = cur === undefined ? null : etagOf(cur.etag);
        if (op.etag !== undefined && curTag !== op.etag) throw new KvConcurrencyError(op.key, op.etag, curTag, index);
        const etag = this.#put(folder!, leaf, op.value, op.ttlMs);
        undo?.push(folder, leaf, cur);
        return etagOf(etag);
      }
      case 'remove': {
        if (op.etag !== undefined && cur !== undefined && etagOf(cur.etag) !== op.etag) throw new KvConcurrencyError(op.key, op.etag, etagOf(cur.etag), index);
        if (op.etag !== undefined && cur === undefined) throw new KvKeyNotFoundError(op.key, index);
        if (cur === undefined) return false;
        folder!.delete(leaf);
        this.#maybeEmpty.push(folder!);
        undo?.push(folder, leaf, cur);
        return true;
      }
      case 'check': {
        const curTag = cur === undefined ? null : etagOf(cur.etag);
        if (curTag !== op.etag) throw new KvConcurrencyError(op.key, op.etag, curTag, index);
        return true;
      }
    }
  }

  async add(key: string, value: unknown, options?: KvAddOptions): Promise<string> {
    this.#open();
    checkKey(key);
    checkWriteOptions(options, false);
    try {
      this.#dropExpired();
      return this.#apply({ op: 'add', key, value, ttlMs: options?.ttlMs }, undefined, undefined) as string;
    } finally {
      this.#sweep();
    }
  }

  async set(key: string, value: unknown, options?: KvSetOptions): Promise<string> {
    this.#open();
    checkKey(key);
    checkWriteOptions(options, true);
    try {
      this.#dropExpired();
      return this.#apply({ op: 'set', key, value, etag: options?.etag, ttlMs: options?.ttlMs }, undefined, undefined) as string;
    } finally {
      this.#sweep();
    }
  }

  async get<V = unknown>(key: string): Promise<KvEntry<V>> {
    const e = await this.tryGet<V>(key);
    if (e === undefined) throw new KvKeyNotFoundError(key);
    return e;
  }

  async tryGet<V = unknown>(key: string): Promise<KvEntry<V> | undefined> {
    this.#open();
    checkKey(key);
    const folder = this.#folder(key, false);
    const r = this.#live(folder, this.#leaf);
    if (r === undefined) {
      this.#sweep(); // the record may have expired just now
      return undefined;
    }
    return r.expiresAt === Infinity ? { value: r.value as V, etag: etagOf(r.etag) } : { value: r.value as V, etag: etagOf(r.etag), expiresAt: r.expiresAt };
  }

  async remove(key: string, options?: KvRemoveOptions): Promise<boolean> {
    this.#open();
    checkKey(key);
    checkRemoveOptions(options);
    try {
      this.#dropExpired();
      const folder = this.#folder(key, false);
      const cur = this.#live(folder, this.#leaf);
      const curTag = cur === undefined ? null : etagOf(cur.etag);
      if (options?.etag !== undefined && curTag !== options.etag) throw new KvConcurrencyError(key, options.etag, curTag);
      return this.#apply({ op: 'remove', key }, undefined, undefined) as boolean;
    } finally {
      this.#sweep();
    }
  }

  async list<V = unknown>(folder: string, options?: KvListOptions): Promise<KvListed<V>[]> {
    this.#open();
    checkFolder(folder, options);
    const f = this.#folders.get(folder);
    const out: KvListed<V>[] = [];
    const limit = options?.limit ?? Infinity;
    if (f === undefined || limit === 0) return out;
    const now = this.#clock.now();
    f.scan(options?.start, options?.end, (leaf, value, etag, expiresAt) => {
      if (expiresAt !== Infinity && expiresAt <= now) return true;
      const key = folder + leaf;
      out.push(expiresAt === Infinity ? { key, value: value as V, etag: etagOf(etag) } : { key, value: value as V, etag: etagOf(etag), expiresAt });
      return out.length < limit;
    });
    return out;
  }

  async batch(ops: readonly KvBatchOp[]): Promise<KvBatchResult[]> {
    this.#open();
    checkOps(ops);
    const undo: unknown[] = [];
    const results: KvBatchResult[] = new Array(ops.length);
    try {
      this.#dropExpired();
      for (let i = 0; i < ops.length; i++) results[i] = this.#apply(ops[i]!, i, undo);
    } catch (err) {
      // All or nothing: restore every record this batch touched, newest first.
      for (let i = undo.length - 3; i >= 0; i -= 3) {
        const folder = undo[i] as MemFolder;
        const leaf = undo[i + 1] as string;
        const prev = undo[i + 2] as MemRec | undefined;
        if (prev === undefined) {
          folder.delete(leaf);
          this.#maybeEmpty.push(folder);
        } else folder.put(leaf, prev.value, prev.etag, prev.expiresAt);
      }
      throw err;
    } finally {
      this.#sweep();
    }
    return results;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#streams?.clear();
    for (const f of this.#folders.values()) f.detached = true;
    this.#folders.clear();
    this.#maybeEmpty = [];
    this.#expiries.clear();
    this.#recentNames = [];
    this.#recentFolders = [];
  }
}
