/**
 * The key-value backend contract the streams are built on.
 *
 * Keys are `/`-separated paths; a key's folder is everything up to and
 * including its last `/`, its leaf the rest. {@link KeyValueBackend.list}
 * reads the direct children of one folder in leaf order, which is how events
 * (leaf = zero-padded version) are range-read without probing.
 *
 * Every backend must pass the contract suite in `test/streams/backend-contract.ts`.
 */

/** A stored value with its etag. */
export interface KvEntry<V = unknown> {
  /** The value, as written. Treat it as read-only. */
  readonly value: V;
  /** Opaque version tag, new on every write; used for compare-and-set. */
  readonly etag: string;
  /** Expiry time (epoch ms, backend clock) when written with a TTL. */
  readonly expiresAt?: number;
}

/** A listed entry. */
export interface KvListed<V = unknown> extends KvEntry<V> {
  /** The full key. */
  readonly key: string;
}

/** Options of `add`. */
export interface KvAddOptions {
  /** Time to live in ms; the entry reads as absent once it has passed. */
  ttlMs?: number;
}

/** Options of `set`. */
export interface KvSetOptions extends KvAddOptions {
  /**
   * Compare-and-set: a string requires the stored etag to equal it; `null`
   * requires the key to be absent; `undefined` (default) writes unconditionally.
   */
  etag?: string | null;
}

/** Options of `remove`. */
export interface KvRemoveOptions {
  /** When given, the key is removed only if its etag equals this. */
  etag?: string;
}

/** Options of `list`: an inclusive leaf range and a limit. */
export interface KvListOptions {
  /** First leaf (inclusive). */
  start?: string;
  /** Last leaf (inclusive). */
  end?: string;
  /** At most this many entries. */
  limit?: number;
}

/** One operation of an atomic batch. */
export type KvBatchOp =
  | { readonly op: 'add'; readonly key: string; readonly value: unknown; readonly ttlMs?: number }
  | { readonly op: 'set'; readonly key: string; readonly value: unknown; readonly etag?: string | null; readonly ttlMs?: number }
  | { readonly op: 'remove'; readonly key: string; readonly etag?: string }
  | { readonly op: 'check'; readonly key: string; readonly etag: string | null };

/** Result of one batch operation: the new etag for add/set, whether it removed for remove, `true` for check. */
export type KvBatchResult = string | boolean;

/** What a backend offers. */
export interface KvCapabilities {
  /** Data survives a process kill. */
  readonly durable: boolean;
  /** Several processes may share the store safely (leases and CAS are enforced across them). */
  readonly multiProcess: boolean;
}

/**
 * A key-value store with create-only add, compare-and-set on etags, TTL,
 * folder range reads and atomic batches.
 *
 * Errors: precondition failures throw `KvDuplicateKeyError`, `KvKeyNotFoundError`
 * or `KvConcurrencyError` (with `opIndex` inside a batch); anything else is an
 * I/O failure that the stream layer wraps in `StoreBackendError`.
 */
export interface KeyValueBackend {
  /** Short name, e.g. `"memory"` or `"lmdb"`. */
  readonly kind: string;
  /** Capabilities. */
  readonly capabilities: KvCapabilities;
  /** Create-only write; returns the new etag. @throws KvDuplicateKeyError if the key exists. */
  add(key: string, value: unknown, options?: KvAddOptions): Promise<string>;
  /** Upsert, optionally compare-and-set on `options.etag`; returns the new etag. @throws KvConcurrencyError */
  set(key: string, value: unknown, options?: KvSetOptions): Promise<string>;
  /** Reads a key. @throws KvKeyNotFoundError if absent. */
  get<V = unknown>(key: string): Promise<KvEntry<V>>;
  /** Reads a key, `undefined` if absent. */
  tryGet<V = unknown>(key: string): Promise<KvEntry<V> | undefined>;
  /** Removes a key; `true` if it existed. @throws KvConcurrencyError when `options.etag` does not match. */
  remove(key: string, options?: KvRemoveOptions): Promise<boolean>;
  /** Lists the direct children of `folder` (which must end with `/`) in leaf order. */
  list<V = unknown>(folder: string, options?: KvListOptions): Promise<KvListed<V>[]>;
  /**
   * Applies all operations atomically, in order, or none of them: when any
   * precondition fails or the backend fails midway, nothing is written.
   */
  batch(ops: readonly KvBatchOp[]): Promise<KvBatchResult[]>;
  /** Releases resources. Further calls fail. */
  close(): Promise<void>;
}

/** Splits a key into folder (with trailing `/`) and leaf. */
export function splitKey(key: string): [folder: string, leaf: string] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i + 1), key.slice(i + 1)];
}
