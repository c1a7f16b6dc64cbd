/**
 * The snapshot collection of a stream: snapshots keyed by version plus one
 * index record `{ versions }` updated with compare-and-set in the same atomic
 * batch as the snapshot itself, so the index always lists exactly the stored
 * snapshots (the reference lost the first version, left cleared versions in
 * the index and raced concurrent index writes: its D8, D9, D10, D11, D13).
 */
import type { Logger } from 'pino';
import type { KeyValueBackend, KvBatchOp } from './backend.js';
import type { Clock } from './clock.js';
import type { StreamEvent } from './envelope.js';
import { StoreBackendError, StreamSnapshotVersionNotFoundError, StreamVersionNotFoundError } from './errors.js';
import { frozenJsonCopy, type JsonValue } from './json.js';
import { padVersion, type StreamKeys } from './stream-id.js';

/** A stored snapshot: the application state after applying events 1..version. */
export interface Snapshot<TState = JsonValue> {
  /** The stream version the state corresponds to. */
  readonly version: number;
  /** The state (JSON). */
  readonly state: TState;
  /** When it was stored (ISO 8601, UTC). */
  readonly createdAt: string;
}

/**
 * Computes the state at `version` from the state at the previous snapshot
 * (`undefined` when there is none) and the events since it.
 */
export type SnapshotReducer<TState = JsonValue, TData = JsonValue> = (
  state: TState | undefined,
  events: readonly StreamEvent<TData>[],
  version: number,
) => TState | Promise<TState>;

interface IndexRecord {
  versions: number[];
}

/** @internal What the collection needs from its session. */
export interface SnapshotContext {
  readonly backend: KeyValueBackend;
  readonly keys: StreamKeys;
  readonly storeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  fence(): KvBatchOp;
  headVersion(): Promise<number>;
  /** Throws the session error the stored lease implies (returns when it is this session's and live). */
  checkLease(): Promise<void>;
  fail(operation: string, err: unknown, ops: readonly KvBatchOp[]): Promise<never>;
}

/** @internal Snapshot operations of one session; callers hold the session's write queue. */
export class SnapshotCollection {
  readonly #c: SnapshotContext;

  constructor(context: SnapshotContext) {
    this.#c = context;
  }

  async #index(operation: string): Promise<{ versions: number[]; etag: string | null }> {
    try {
      const e = await this.#c.backend.tryGet<IndexRecord>(this.#c.keys.index);
      return e === undefined ? { versions: [], etag: null } : { versions: [...e.value.versions], etag: e.etag };
    } catch (err) {
      throw new StoreBackendError(operation, this.#c.storeId, err);
    }
  }

  /** Ascending snapshot versions. */
  async versions(): Promise<number[]> {
    return (await this.#index('snapshotVersions')).versions;
  }

  /** The greatest snapshot at or below `version`, if any. */
  async greatestAtOrBelow<TState>(version: number): Promise<Snapshot<TState> | undefined> {
    const { versions } = await this.#index('read');
    let pick = 0;
    for (const v of versions) if (v <= version && v > pick) pick = v;
    if (pick === 0) return undefined;
    return this.#load<TState>(pick, 'read');
  }

  async #load<TState>(version: number, operation: string): Promise<Snapshot<TState>> {
    let e;
    try {
      e = await this.#c.backend.tryGet<Snapshot<TState>>(this.#c.keys.snapshots + padVersion(version));
    } catch (err) {
      throw new StoreBackendError(operation, this.#c.storeId, err);
    }
    if (e === undefined) throw new StreamSnapshotVersionNotFoundError(this.#c.storeId, version);
    return e.value;
  }

  /** Stores a snapshot (`copy`: a frozen JSON copy of the state) and adds its version to the index, atomically. */
  async write(version: number, copy: JsonValue): Promise<void> {
    const head = await this.#c.headVersion();
    if (version > head) {
      // The session's head may be stale only if its lease was taken over: then that is the error.
      await this.#c.checkLease();
      throw new StreamVersionNotFoundError(this.#c.storeId, version, head);
    }
    const idx = await this.#index('snapshot');
    const versions = idx.versions.includes(version) ? idx.versions : [...idx.versions, version].sort((a, b) => a - b);
    const snap: Snapshot = Object.freeze({ version, state: copy, createdAt: new Date(this.#c.clock.now()).toISOString() });
    const ops: KvBatchOp[] = [
      this.#c.fence(),
      { op: 'set', key: this.#c.keys.snapshots + padVersion(version), value: snap },
      { op: 'set', key: this.#c.keys.index, value: { versions }, etag: idx.etag },
    ];
    try {
      await this.#c.backend.batch(ops);
    } catch (err) {
      return this.#c.fail('snapshot', err, ops);
    }
    this.#c.logger.info({ version }, 'snapshot stored');
  }

  /** Sequential interval snapshots; see `StreamSession.snapshotEvery`. */
  async every<TState, TData>(
    chunkSize: number,
    reducer: SnapshotReducer<TState, TData>,
    range: (first: number, last: number) => Promise<StreamEvent<TData>[]>,
    check: () => Promise<void>,
  ): Promise<number[]> {
    const head = await this.#c.headVersion();
    const { versions } = await this.#index('snapshotEvery');
    const base = versions.length === 0 ? 0 : versions[versions.length - 1]!;
    let state: TState | undefined = base === 0 ? undefined : (await this.#load<TState>(base, 'snapshotEvery')).state;
    let previous = base;
    const written: number[] = [];
    for (let v = (Math.floor(base / chunkSize) + 1) * chunkSize; v <= head; v += chunkSize) {
      const events = await range(previous + 1, v);
      state = await reducer(state, events, v);
      await check();
      await this.write(v, frozenJsonCopy(state, 'state'));
      written.push(v);
      previous = v;
    }
    return written;
  }

  /** Removes one snapshot and its index entry, atomically. */
  async clear(version: number): Promise<void> {
    const idx = await this.#index('clearSnapshot');
    if (!idx.versions.includes(version)) {
      // Read outside a fenced batch: answered only to the lease's holder, else the session error.
      await this.#c.checkLease();
      throw new StreamSnapshotVersionNotFoundError(this.#c.storeId, version);
    }
    const rest = idx.versions.filter((v) => v !== version);
    const ops: KvBatchOp[] = [
      this.#c.fence(),
      { op: 'remove', key: this.#c.keys.snapshots + padVersion(version) },
      rest.length === 0
        ? { op: 'remove', key: this.#c.keys.index, etag: idx.etag! }
        : { op: 'set', key: this.#c.keys.index, value: { versions: rest }, etag: idx.etag },
    ];
    try {
      await this.#c.backend.batch(ops);
    } catch (err) {
      return this.#c.fail('clearSnapshot', err, ops);
    }
    this.#c.logger.info({ version }, 'snapshot cleared');
  }

  /** Removes every stored snapshot, listed in the index or not, and the index. */
  async clearAll(): Promise<void> {
    let rows;
    try {
      rows = await this.#c.backend.list(this.#c.keys.snapshots);
    } catch (err) {
      throw new StoreBackendError('clearSnapshots', this.#c.storeId, err);
    }
    const ops: KvBatchOp[] = [this.#c.fence(), { op: 'remove', key: this.#c.keys.index }];
    for (const r of rows) ops.push({ op: 'remove', key: r.key });
    try {
      await this.#c.backend.batch(ops);
    } catch (err) {
      return this.#c.fail('clearSnapshots', err, ops);
    }
    this.#c.logger.info({ removed: rows.length }, 'snapshots cleared');
  }
}
