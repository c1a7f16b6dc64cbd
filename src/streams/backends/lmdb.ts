/**
 * Durable {@link KeyValueBackend} on LMDB (the `lmdb` package): memory-mapped,
 * crash-proof with its default sync settings, and safe for several processes
 * sharing one directory (LMDB holds one write lock across processes, so every
 * precondition checked inside a write transaction is atomic everywhere).
 *
 * Every write goes through `childTransaction`: lmdb-js batches the callbacks
 * queued in one event turn into one committed (fsynced) transaction, and each
 * callback runs in its own child transaction, so a failed precondition aborts
 * just that batch. Concurrent appends therefore share commits ("batched
 * commits") while each stays all or nothing.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, extname } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import type { KeyValueBackend, KvAddOptions, KvBatchOp, KvBatchResult, KvEntry, KvListOptions, KvListed, KvRemoveOptions, KvSetOptions } from '../backend.js';
import { assertClock, systemClock, type Clock } from '../clock.js';
import { makeDirs } from '../../durability/make-dirs.js';
import { keySet } from '../../known-keys.js';
import { InvalidStreamOptionError, refuseUnknownOption, KvConcurrencyError, KvDuplicateKeyError, KvKeyNotFoundError, ProviderClosedError, StoreBackendError } from '../errors.js';
import { checkFolder, checkKey, checkOps, checkRemoveOptions, checkWriteOptions } from './validate.js';

/** Stored record: value, etag, optional expiry. */
interface Rec {
  v: unknown;
  e: string;
  x?: number;
}

/** Options of {@link LmdbBackend}. */
export interface LmdbBackendOptions {
  /** Directory (or file) of the LMDB environment. Created if missing. */
  path: string;
  /** Clock for TTLs (default: the system clock). Processes sharing a store should use real time. */
  clock?: Clock;
  /** Name of the LMDB sub-database (default `"ringstore-streams"`). */
  dbName?: string;
  /** Map size in bytes (default: lmdb's, which grows automatically). */
  mapSize?: number;
  /**
   * Skip fsync on commit (default false). Data still survives a process kill
   * (the OS has it), but not a power loss.
   */
  noSync?: boolean;
}

/** How often, at most, a process that knows of no due expiry reads the expiry index again (for other processes' writes). */
const EXPIRY_RECHECK_MS = 1_000;
const LMDB_OPTIONS = keySet<LmdbBackendOptions>({ path: 1, clock: 1, dbName: 1, mapSize: 1, noSync: 1 });

/** The LMDB backend: durable and multi-process safe. */
export class LmdbBackend implements KeyValueBackend {
  /** `"lmdb"`. */
  readonly kind = 'lmdb';
  /** Durable and multi-process. */
  readonly capabilities = Object.freeze({ durable: true, multiProcess: true });
  readonly #root: RootDatabase;
  readonly #db: Database<Rec, string>;
  /**
   * Records written with a TTL, by expiry: key `[expiresAt, key]`, value the record's etag. Each write first
   * removes the records it names that expired and were not written again since, in the same commit, so the
   * disk follows the records alive rather than every key ever written with a TTL (until 2026-12-06 an expired
   * record stayed until its own key was touched: test/long-uptime/ttl.test.ts).
   */
  readonly #expiries: Database<string, [number, string]>;
  readonly #clock: Clock;
  /**
   * The earliest expiry in the index as this process last knew it (Infinity: none; -Infinity: not read yet), and
   * when it last read it.
   * Reading the index costs a cursor in every write (4% of an append's CPU); a record this process writes with
   * a TTL lowers it at once, and the index is read again at least every {@link EXPIRY_RECHECK_MS}, for records
   * other processes wrote (they also remove them at their own writes).
   */
  #earliestExpiry = -Infinity;
  #expiryReadAt = -Infinity;
  readonly #etagPrefix = randomBytes(6).toString('base64url');
  #etag = 0;
  #closed = false;

  /** Opens (creating if needed) the environment at `options.path`. */
  constructor(options: LmdbBackendOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidStreamOptionError('LmdbBackend options must be an object with a path');
    refuseUnknownOption(options, LMDB_OPTIONS, 'LmdbBackend options');
    if (typeof options.path !== 'string' || options.path.length === 0) throw new InvalidStreamOptionError('LmdbBackend options.path must be a non-empty string');
    if (options.noSync !== undefined && typeof options.noSync !== 'boolean') throw new InvalidStreamOptionError('LmdbBackend options.noSync must be a boolean');
    if (options.mapSize !== undefined && (!Number.isSafeInteger(options.mapSize) || options.mapSize <= 0)) {
      throw new InvalidStreamOptionError('LmdbBackend options.mapSize must be a positive integer', { mapSize: options.mapSize });
    }
    if (options.dbName !== undefined && (typeof options.dbName !== 'string' || options.dbName.length === 0)) {
      throw new InvalidStreamOptionError('LmdbBackend options.dbName must be a non-empty string');
    }
    const clock = options.clock ?? systemClock;
    assertClock(clock, 'LmdbBackend options.clock');
    this.#clock = clock;
    // lmdb makes the folder with mkdirSync({ recursive: true }), which spins for ever where the filesystem will not
    // make it (/proc/x): made here first, each level once (a path with an extension is a file in its folder).
    try {
      makeDirs(extname(options.path) === '' ? options.path : dirname(options.path));
    } catch (err) {
      throw new StoreBackendError('open', options.path, err);
    }
    this.#root = loadLmdb().open({ path: options.path, noSync: options.noSync === true, ...(options.mapSize ? { mapSize: options.mapSize } : {}) });
    // Shared msgpack structures: records of one shape (events, heads) encode and decode
    // without repeating property names, several times faster than plain msgpack.
    this.#db = this.#root.openDB<Rec, string>({ name: options.dbName ?? 'ringstore-streams', sharedStructuresKey: Symbol.for('ringstore.structures') });
    this.#expiries = this.#root.openDB<string, [number, string]>({ name: `${options.dbName ?? 'ringstore-streams'}.expiries` });
  }

  #open(): void {
    if (this.#closed) throw new ProviderClosedError('the LMDB key-value backend');
  }

  #nextEtag(): string {
    return `${this.#etagPrefix}.${(++this.#etag).toString(36)}`;
  }

  #read(key: string): Rec | undefined {
    const r = this.#db.get(key);
    if (r === undefined) return undefined;
    if (r.x !== undefined && r.x <= this.#clock.now()) return undefined;
    return r;
  }

  #rec(key: string, value: unknown, ttlMs: number | undefined): Rec {
    const e = this.#nextEtag();
    if (ttlMs === undefined) return { v: value, e };
    const x = this.#clock.now() + ttlMs;
    this.#expiries.put([x, key], e); // in the write's transaction: undone with it
    if (x < this.#earliestExpiry) this.#earliestExpiry = x; // an abort leaves it too early (one more read), never too late
    return { v: value, e, x };
  }

  /** True when the expiry index names a record whose time has come (a read outside any write, at most once a second while none is due). */
  #expiryDue(): boolean {
    const now = this.#clock.now();
    // `now >= readAt`: a clock set back reads again rather than trusting a memory from its future.
    if (now < this.#earliestExpiry && now - this.#expiryReadAt < EXPIRY_RECHECK_MS && now >= this.#expiryReadAt) return false;
    this.#expiryReadAt = now;
    this.#earliestExpiry = Infinity;
    for (const k of this.#expiries.getKeys({ limit: 1 })) this.#earliestExpiry = k[0];
    return this.#earliestExpiry <= now;
  }

  /** Inside a write transaction: removes up to 1,000 expired records not written again since (by etag). */
  #dropExpired(): void {
    const now = this.#clock.now();
    const due: [[number, string], string][] = [];
    for (const { key, value } of this.#expiries.getRange({ limit: 1_000 })) {
      if (key[0] > now) break;
      due.push([key, value]);
    }
    for (const [k, etag] of due) {
      const r = this.#db.get(k[1]);
      if (r !== undefined && r.e === etag && r.x !== undefined && r.x <= now) this.#db.remove(k[1]);
      this.#expiries.remove(k);
    }
  }

  /** Runs inside a write transaction. Reads (and decodes) the current record only when the operation needs it. */
  #apply(op: KvBatchOp, index: number | undefined): KvBatchResult {
    switch (op.op) {
      case 'add': {
        // Existence without decoding; a present record may still be expired (then it is absent).
        if (this.#db.doesExist(op.key) && this.#read(op.key) !== undefined) throw new KvDuplicateKeyError(op.key, index);
        const rec = this.#rec(op.key, op.value, op.ttlMs);
        this.#db.put(op.key, rec);
        return rec.e;
      }
      case 'set': {
        if (op.etag !== undefined) {
          const cur = this.#read(op.key);
          if ((cur?.e ?? null) !== op.etag) throw new KvConcurrencyError(op.key, op.etag, cur?.e ?? null, index);
        }
        const rec = this.#rec(op.key, op.value, op.ttlMs);
        this.#db.put(op.key, rec);
        return rec.e;
      }
      case 'remove': {
        const cur = this.#read(op.key);
        if (op.etag !== undefined && cur === undefined) throw new KvKeyNotFoundError(op.key, index);
        if (op.etag !== undefined && cur!.e !== op.etag) throw new KvConcurrencyError(op.key, op.etag, cur!.e, index);
        // An expired record may still be physically present: remove it either way.
        this.#db.remove(op.key);
        return cur !== undefined;
      }
      case 'check': {
        const cur = this.#read(op.key);
        if ((cur?.e ?? null) !== op.etag) throw new KvConcurrencyError(op.key, op.etag, cur?.e ?? null, index);
        return true;
      }
    }
  }

  async #txn<T>(fn: () => T): Promise<T> {
    this.#open();
    // A child transaction of its own, in the same commit as the write: a write refused by its precondition
    // does not undo the expiries.
    if (this.#expiryDue()) void this.#db.childTransaction(() => this.#dropExpired()).catch(() => undefined);
    return (await this.#db.childTransaction(() => {
      try {
        return fn();
      } catch (err) {
        this.#forgetUnsavedStructures();
        throw err;
      }
    })) as T;
  }

  /**
   * Called when a child transaction is about to abort. Encoding a value of a new shape saves
   * the shared msgpack structures inside the current transaction, so the abort rolls that save
   * back, while the encoder keeps the new structure in memory: every later value of that shape
   * (in this commit or any later one) would be written against a structure id that was never
   * stored, and read back as garbage once the store is opened again. Marking the structures
   * uninitialized makes the next encode reload the stored ones (msgpackr's own recovery when a
   * save is declined), and mint and save the new shape again, in a transaction that commits.
   */
  #forgetUnsavedStructures(): void {
    const structures = (this.#db as unknown as { encoder?: { structures?: unknown[] & { uninitialized?: boolean } } }).encoder?.structures;
    if (structures !== undefined) structures.uninitialized = true;
  }

  async add(key: string, value: unknown, options?: KvAddOptions): Promise<string> {
    checkKey(key);
    checkWriteOptions(options, false);
    return this.#txn(() => this.#apply({ op: 'add', key, value, ttlMs: options?.ttlMs }, undefined) as string);
  }

  async set(key: string, value: unknown, options?: KvSetOptions): Promise<string> {
    checkKey(key);
    checkWriteOptions(options, true);
    return this.#txn(() => this.#apply({ op: 'set', key, value, etag: options?.etag, ttlMs: options?.ttlMs }, undefined) as string);
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
    return r.x === undefined ? { value: r.v as V, etag: r.e } : { value: r.v as V, etag: r.e, expiresAt: r.x };
  }

  async remove(key: string, options?: KvRemoveOptions): Promise<boolean> {
    checkKey(key);
    checkRemoveOptions(options);
    return this.#txn(() => {
      const cur = this.#read(key);
      if (options?.etag !== undefined && (cur?.e ?? null) !== options.etag) throw new KvConcurrencyError(key, options.etag, cur?.e ?? null);
      return this.#apply({ op: 'remove', key }, undefined) as boolean;
    });
  }

  async list<V = unknown>(folder: string, options?: KvListOptions): Promise<KvListed<V>[]> {
    this.#open();
    checkFolder(folder, options);
    const end = options?.end;
    const limit = options?.limit ?? Infinity;
    const out: KvListed<V>[] = [];
    if (limit === 0) return out;
    const now = this.#clock.now();
    const flen = folder.length;
    for (const { key, value: r } of this.#db.getRange({ start: folder + (options?.start ?? ''), end: `${folder}\uffff` })) {
      const k = key as string;
      const leaf = k.slice(flen);
      if (end !== undefined && leaf > end) break;
      if (leaf.includes('/')) continue; // a deeper folder
      if (r.x !== undefined && r.x <= now) continue;
      out.push(r.x === undefined ? { key: k, value: r.v as V, etag: r.e } : { key: k, value: r.v as V, etag: r.e, expiresAt: r.x });
      if (out.length >= limit) break;
    }
    return out;
  }

  async batch(ops: readonly KvBatchOp[]): Promise<KvBatchResult[]> {
    checkOps(ops);
    return this.#txn(() => {
      const results: KvBatchResult[] = new Array(ops.length);
      for (let i = 0; i < ops.length; i++) results[i] = this.#apply(ops[i]!, i);
      return results;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#root.close();
  }
}

let lmdb: typeof import('lmdb') | undefined;

/** Loads lmdb (an optional peer dependency) on first use, with a clear error when it is missing. */
function loadLmdb(): typeof import('lmdb') {
  if (lmdb !== undefined) return lmdb;
  try {
    lmdb = createRequire(import.meta.url)('lmdb') as typeof import('lmdb');
    return lmdb;
  } catch (cause) {
    throw new InvalidStreamOptionError('LmdbBackend needs lmdb, an optional peer dependency of ringstore: npm install lmdb@^3.5.6', { cause: String(cause) });
  }
}
