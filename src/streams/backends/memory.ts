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
 */
import type { KeyValueBackend, KvAddOptions, KvBatchOp, KvBatchResult, KvEntry, KvListOptions, KvListed, KvRemoveOptions, KvSetOptions } from '../backend.js';
import { assertClock, systemClock, type Clock } from '../clock.js';
import { InvalidStreamOptionError, KvConcurrencyError, KvDuplicateKeyError, KvKeyNotFoundError, ProviderClosedError } from '../errors.js';
import { MemFolder, type MemRec } from './memory-folder.js';
import { NativeStream } from './memory-streams.js';
import { checkFolder, checkKey, checkOps, checkTtl } from './validate.js';

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
  /** Native stream logs by head key; undefined when `nativeStreams` is false. */
  readonly #streams: Map<string, NativeStream> | undefined;
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
    const clock = options.clock ?? systemClock;
    assertClock(clock, 'MemoryBackend options.clock');
    this.#clock = clock;
    if (options.nativeStreams !== undefined && typeof options.nativeStreams !== 'boolean') throw new InvalidStreamOptionError('MemoryBackend options.nativeStreams must be a boolean');
    this.#streams = options.nativeStreams === false ? undefined : new Map();
  }

  /**
   * @internal The native log of the stream whose head and lease keys are given
   * (created on first use), or undefined when the stream is kept as key-value
   * records: `nativeStreams` is false, or the stream already has a head record
   * written through the key-value methods (e.g. by a session before this option
   * existed), which it then keeps.
   */
  nativeStream(headKey: string, leaseKey: string): NativeStream | undefined {
    this.#open();
    const streams = this.#streams;
    if (streams === undefined) return undefined;
    let s = streams.get(headKey);
    if (s === undefined) {
      if (this.#live(this.#folder(headKey, false), this.#leaf) !== undefined) return undefined;
      const leases = this.#folder(leaseKey, true)!;
      s = new NativeStream(leases, this.#leaf);
      streams.set(headKey, s);
    }
    return s;
  }

  #open(): void {
    if (this.#closed) throw new ProviderClosedError();
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
      f = new MemFolder();
      this.#folders.set(name, f);
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
      return undefined;
    }
    return r;
  }

  #expiry(ttlMs: number | undefined): number {
    return ttlMs === undefined ? Infinity : this.#clock.now() + ttlMs;
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
        const etag = ++this.#etag;
        folder!.put(leaf, op.value, etag, this.#expiry(op.ttlMs));
        undo?.push(folder, leaf, undefined);
        return etagOf(etag);
      }
      case 'set': {
        const curTag = cur === undefined ? null : etagOf(cur.etag);
        if (op.etag !== undefined && curTag !== op.etag) throw new KvConcurrencyError(op.key, op.etag, curTag, index);
        const etag = ++this.#etag;
        folder!.put(leaf, op.value, etag, this.#expiry(op.ttlMs));
        undo?.push(folder, leaf, cur);
        return etagOf(etag);
      }
      case 'remove': {
        if (op.etag !== undefined && cur !== undefined && etagOf(cur.etag) !== op.etag) throw new KvConcurrencyError(op.key, op.etag, etagOf(cur.etag), index);
        if (op.etag !== undefined && cur === undefined) throw new KvKeyNotFoundError(op.key, index);
        if (cur === undefined) return false;
        folder!.delete(leaf);
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
    checkTtl(options?.ttlMs);
    return this.#apply({ op: 'add', key, value, ttlMs: options?.ttlMs }, undefined, undefined) as string;
  }

  async set(key: string, value: unknown, options?: KvSetOptions): Promise<string> {
    this.#open();
    checkKey(key);
    checkTtl(options?.ttlMs);
    return this.#apply({ op: 'set', key, value, etag: options?.etag, ttlMs: options?.ttlMs }, undefined, undefined) as string;
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
    if (r === undefined) return undefined;
    return r.expiresAt === Infinity ? { value: r.value as V, etag: etagOf(r.etag) } : { value: r.value as V, etag: etagOf(r.etag), expiresAt: r.expiresAt };
  }

  async remove(key: string, options?: KvRemoveOptions): Promise<boolean> {
    this.#open();
    checkKey(key);
    const folder = this.#folder(key, false);
    const cur = this.#live(folder, this.#leaf);
    const curTag = cur === undefined ? null : etagOf(cur.etag);
    if (options?.etag !== undefined && curTag !== options.etag) throw new KvConcurrencyError(key, options.etag, curTag);
    return this.#apply({ op: 'remove', key }, undefined, undefined) as boolean;
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
      for (let i = 0; i < ops.length; i++) results[i] = this.#apply(ops[i]!, i, undo);
    } catch (err) {
      // All or nothing: restore every record this batch touched, newest first.
      for (let i = undo.length - 3; i >= 0; i -= 3) {
        const folder = undo[i] as MemFolder;
        const leaf = undo[i + 1] as string;
        const prev = undo[i + 2] as MemRec | undefined;
        if (prev === undefined) folder.delete(leaf);
        else folder.put(leaf, prev.value, prev.etag, prev.expiresAt);
      }
      throw err;
    }
    return results;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#streams !== undefined) {
      for (const s of this.#streams.values()) s.close();
      this.#streams.clear();
    }
    this.#folders.clear();
    this.#recentNames = [];
    this.#recentFolders = [];
  }
}
