/**
 * In-memory {@link KeyValueBackend}: the default backend. Values are stored by
 * reference (the stream layer hands it frozen copies). Keys are grouped by
 * folder, each folder keeping its leaves sorted lazily, so appending in leaf
 * order (events by version) is O(1) and a range read is a binary search.
 */
import type { KeyValueBackend, KvAddOptions, KvBatchOp, KvBatchResult, KvEntry, KvListOptions, KvListed, KvRemoveOptions, KvSetOptions } from '../backend.js';
import { splitKey } from '../backend.js';
import { assertClock, systemClock, type Clock } from '../clock.js';
import { InvalidStreamOptionError, KvConcurrencyError, KvDuplicateKeyError, KvKeyNotFoundError, ProviderClosedError } from '../errors.js';
import { checkFolder, checkKey, checkOps, checkTtl } from './validate.js';

interface Rec {
  value: unknown;
  etag: string;
  expiresAt: number | undefined;
}

interface Folder {
  readonly map: Map<string, Rec>;
  /** Leaves, sorted when `sorted`; may hold removed leaves when `stale`. */
  leaves: string[];
  sorted: boolean;
  stale: boolean;
}

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Clock for TTLs (default: the system clock). */
  clock?: Clock;
}

/** The in-memory backend. Not durable, single process. */
export class MemoryBackend implements KeyValueBackend {
  /** `"memory"`. */
  readonly kind = 'memory';
  /** Not durable, single process. */
  readonly capabilities = Object.freeze({ durable: false, multiProcess: false });
  readonly #folders = new Map<string, Folder>();
  readonly #clock: Clock;
  #etag = 0;
  #closed = false;

  /** @param options - optional clock for TTLs. */
  constructor(options: MemoryBackendOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidStreamOptionError('MemoryBackend options must be an object');
    const clock = options.clock ?? systemClock;
    assertClock(clock, 'MemoryBackend options.clock');
    this.#clock = clock;
  }

  #open(): void {
    if (this.#closed) throw new ProviderClosedError();
  }

  #live(folder: Folder | undefined, leaf: string): Rec | undefined {
    const r = folder?.map.get(leaf);
    if (r === undefined) return undefined;
    if (r.expiresAt !== undefined && r.expiresAt <= this.#clock.now()) {
      folder!.map.delete(leaf);
      folder!.stale = true;
      return undefined;
    }
    return r;
  }

  #read(key: string): Rec | undefined {
    const [f, leaf] = splitKey(key);
    return this.#live(this.#folders.get(f), leaf);
  }

  #expiry(ttlMs: number | undefined): number | undefined {
    return ttlMs === undefined ? undefined : this.#clock.now() + ttlMs;
  }

  /** Writes a record; returns the record it replaced (for undo). */
  #write(key: string, rec: Rec | undefined): Rec | undefined {
    const [f, leaf] = splitKey(key);
    let folder = this.#folders.get(f);
    if (folder === undefined) {
      if (rec === undefined) return undefined;
      folder = { map: new Map(), leaves: [], sorted: true, stale: false };
      this.#folders.set(f, folder);
    }
    const prev = folder.map.get(leaf);
    if (rec === undefined) {
      if (prev !== undefined) {
        folder.map.delete(leaf);
        folder.stale = true;
      }
      return prev;
    }
    folder.map.set(leaf, rec);
    if (prev === undefined) {
      const n = folder.leaves.length;
      if (folder.sorted && n > 0 && folder.leaves[n - 1]! >= leaf) folder.sorted = false;
      folder.leaves.push(leaf);
    }
    return prev;
  }

  #apply(op: KvBatchOp, index: number | undefined, undo: Array<[string, Rec | undefined]> | undefined): KvBatchResult {
    const cur = this.#read(op.key);
    switch (op.op) {
      case 'add': {
        if (cur !== undefined) throw new KvDuplicateKeyError(op.key, index);
        const etag = `m${++this.#etag}`;
        const prev = this.#write(op.key, { value: op.value, etag, expiresAt: this.#expiry(op.ttlMs) });
        undo?.push([op.key, prev]);
        return etag;
      }
      case 'set': {
        if (op.etag !== undefined && (cur?.etag ?? null) !== op.etag) throw new KvConcurrencyError(op.key, op.etag, cur?.etag ?? null, index);
        const etag = `m${++this.#etag}`;
        const prev = this.#write(op.key, { value: op.value, etag, expiresAt: this.#expiry(op.ttlMs) });
        undo?.push([op.key, prev]);
        return etag;
      }
      case 'remove': {
        if (op.etag !== undefined && cur !== undefined && cur.etag !== op.etag) throw new KvConcurrencyError(op.key, op.etag, cur.etag, index);
        if (op.etag !== undefined && cur === undefined) throw new KvKeyNotFoundError(op.key, index);
        if (cur === undefined) return false;
        const prev = this.#write(op.key, undefined);
        undo?.push([op.key, prev]);
        return true;
      }
      case 'check':
        if ((cur?.etag ?? null) !== op.etag) throw new KvConcurrencyError(op.key, op.etag, cur?.etag ?? null, index);
        return true;
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
    const r = this.#read(key);
    if (r === undefined) return undefined;
    return r.expiresAt === undefined ? { value: r.value as V, etag: r.etag } : { value: r.value as V, etag: r.etag, expiresAt: r.expiresAt };
  }

  async remove(key: string, options?: KvRemoveOptions): Promise<boolean> {
    this.#open();
    checkKey(key);
    const cur = this.#read(key);
    if (options?.etag !== undefined && (cur?.etag ?? null) !== options.etag) throw new KvConcurrencyError(key, options.etag, cur?.etag ?? null);
    return this.#apply({ op: 'remove', key }, undefined, undefined) as boolean;
  }

  async list<V = unknown>(folder: string, options?: KvListOptions): Promise<KvListed<V>[]> {
    this.#open();
    checkFolder(folder, options);
    const f = this.#folders.get(folder);
    if (f === undefined) return [];
    if (f.stale) {
      f.leaves = [...f.map.keys()];
      f.sorted = false;
      f.stale = false;
    }
    if (!f.sorted) {
      f.leaves.sort();
      f.sorted = true;
    }
    const leaves = f.leaves;
    const start = options?.start;
    const end = options?.end;
    const limit = options?.limit ?? Infinity;
    let lo = 0;
    if (start !== undefined) {
      let hi = leaves.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (leaves[mid]! < start) lo = mid + 1;
        else hi = mid;
      }
    }
    const out: KvListed<V>[] = [];
    const now = this.#clock.now();
    for (let i = lo; i < leaves.length && out.length < limit; i++) {
      const leaf = leaves[i]!;
      if (end !== undefined && leaf > end) break;
      const r = f.map.get(leaf)!;
      if (r.expiresAt !== undefined && r.expiresAt <= now) continue;
      out.push(r.expiresAt === undefined ? { key: folder + leaf, value: r.value as V, etag: r.etag } : { key: folder + leaf, value: r.value as V, etag: r.etag, expiresAt: r.expiresAt });
    }
    return out;
  }

  async batch(ops: readonly KvBatchOp[]): Promise<KvBatchResult[]> {
    this.#open();
    checkOps(ops);
    const undo: Array<[string, Rec | undefined]> = [];
    const results: KvBatchResult[] = new Array(ops.length);
    try {
      for (let i = 0; i < ops.length; i++) results[i] = this.#apply(ops[i]!, i, undo);
    } catch (err) {
      // All or nothing: restore every record this batch touched, newest first.
      for (let i = undo.length - 1; i >= 0; i--) this.#write(undo[i]![0], undo[i]![1]);
      throw err;
    }
    return results;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#folders.clear();
  }
}
