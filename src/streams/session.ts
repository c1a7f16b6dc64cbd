/**
 * One open stream: an exclusive, leased session on a stream. Writes are
 * serialised per session, each committed as one atomic backend batch that also
 * re-checks the lease (a fence) and compare-and-sets the head record; or, on
 * the memory backend, appended synchronously to the stream's native log after
 * the same checks (session-native.ts).
 */
import type { Logger } from 'pino';
import type { KeyValueBackend, KvBatchOp, KvBatchResult } from './backend.js';
import type { NativeStream } from './backends/memory-streams.js';
import type { Clock } from './clock.js';
import { prepareEvents, prepareForNativeLog, type NewEvent, type PreparedEvent, type PreparedWithId, type StreamEvent } from './envelope.js';
import { DuplicateIdempotencyIdError, InvalidStoreSessionError, InvalidStreamArgumentError, KvConcurrencyError, KvKeyNotFoundError, StoreBackendError, StoreNotOpenError, StoreSessionExpiredError, StoreVersionMismatchError } from './errors.js';
import { frozenJsonCopy, type JsonValue } from './json.js';
import { keySet, unknownKey, unknownKeyMessage } from '../known-keys.js';
import { checkSessionTimeout, leaseRecord, type LeaseRecord } from './lease.js';
import type { LiveSink } from './live.js';
import { appendBatch, checkVersions, committedEvents, publishCommitted, type AppendOptions } from './session-append.js';
import { failedBatch, type FailureContext } from './session-failures.js';
import { appendToNativeLog, FENCED } from './session-native.js';
import { checkVersionArg, StreamReader, type ReadOptions, type ReadResult } from './session-reads.js';
import { SnapshotCollection, type SnapshotReducer } from './snapshots.js';
import type { StreamId, StreamKeys } from './stream-id.js';

export type { ReadOptions, ReadResult } from './session-reads.js';

export type { AppendOptions } from './session-append.js';

const APPEND_OPTIONS = keySet<AppendOptions>({ expectedVersion: 1 });

/** Internal construction data, built by the provider. */
export interface SessionInit {
  readonly backend: KeyValueBackend;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly streamId: StreamId;
  readonly storeId: string;
  readonly keys: StreamKeys;
  readonly sessionId: string;
  readonly leaseEtag: string;
  readonly expiresAt: number;
  readonly sessionTimeoutMs: number;
  readonly head: { version: number; etag: string | null };
  readonly publishTo: LiveSink | undefined;
  /** The stream's native log when the backend keeps one (the memory backend), else undefined: key-value records. */
  readonly native: NativeStream | undefined;
  readonly onClose: (s: StreamSession) => void;
}

/**
 * An open session on one stream. Obtain it from `StreamStoreProvider.open()`;
 * release it with {@link StreamSession.close} or `await using`.
 */
export class StreamSession implements AsyncDisposable {
  /** The stream. */
  readonly streamId: StreamId;
  /** `database/name/id`. */
  readonly storeId: string;
  /** This session's id. */
  readonly sessionId: string;
  readonly #i: SessionInit;
  readonly #log: Logger;
  readonly #snapshots: SnapshotCollection;
  readonly #reader: StreamReader;
  readonly #native: NativeStream | undefined;
  /** Throws the stream error a failed batch means (session-failures.ts). */
  readonly #fail: (operation: string, err: unknown, ops: readonly KvBatchOp[]) => Promise<never>;
  #leaseEtag: string;
  #expiresAt: number;
  #headVersion: number;
  #headEtag: string | null;
  /** The last queued write, while one is pending. */
  #tail: Promise<unknown> | undefined;
  #closing = false;
  #closed = false;
  #closePromise: Promise<void> | undefined;

  /** @internal Use `StreamStoreProvider.open()`. */
  constructor(init: SessionInit) {
    this.#i = init;
    this.streamId = init.streamId;
    this.storeId = init.storeId;
    this.sessionId = init.sessionId;
    this.#leaseEtag = init.leaseEtag;
    this.#expiresAt = init.expiresAt;
    this.#headVersion = init.head.version;
    this.#headEtag = init.head.etag;
    this.#native = init.native;
    this.#log = init.logger.child({ storeId: init.storeId, sessionId: init.sessionId });
    const { backend, keys, storeId, clock } = init;
    // Called only after the constructor, once `failures` exists.
    const fail = (op: string, err: unknown, ops: readonly KvBatchOp[]): Promise<never> => failedBatch(failures, op, err, ops);
    this.#fail = fail;
    this.#snapshots = new SnapshotCollection({ backend, keys, storeId, clock, logger: this.#log, fence: () => this.#fence(), headVersion: async () => this.#headVersion, checkLease: () => this.#checkStored(), fail });
    this.#reader = new StreamReader({ backend, keys, storeId, native: init.native, snapshots: this.#snapshots, check: () => this.#check() });
    const failures: FailureContext = {
      backend,
      keys,
      storeId,
      sessionId: this.sessionId,
      reader: this.#reader,
      log: this.#log,
      checkStored: () => this.#checkStored(),
      headMoved: (fresh) => {
        const believed = this.#headVersion;
        this.#headVersion = fresh.version;
        this.#headEtag = fresh.etag;
        return believed;
      },
    };
  }

  /** When the lease ends (epoch ms, provider clock), unless renewed. */
  get expiresAt(): number {
    return this.#expiresAt;
  }

  /** False once {@link close} was called. */
  get isOpen(): boolean {
    return !this.#closing;
  }

  // ---- session checks ----------------------------------------------------

  #entry(): void {
    if (this.#closing) throw new StoreNotOpenError(this.storeId, this.sessionId);
  }

  /**
   * Checks the session; reads the stored lease only when the local view says it
   * expired (writes are fenced by the lease etag inside their batch anyway).
   * Returns undefined on the fast path so callers skip an await.
   */
  #check(): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(new StoreNotOpenError(this.storeId, this.sessionId));
    if (this.#i.clock.now() < this.#expiresAt) return undefined;
    return this.#checkStored().then(() => {
      throw new StoreSessionExpiredError(this.storeId, this.sessionId, this.#expiresAt);
    });
  }

  /** Reads the stored lease and throws the session error it implies (returns if the lease is ours and live). */
  async #checkStored(): Promise<void> {
    const cur = await this.#reader.tryBackend('session check', () => this.#i.backend.tryGet<LeaseRecord>(this.#i.keys.lease));
    const now = this.#i.clock.now();
    if (cur !== undefined && cur.value.sessionId !== this.sessionId) {
      this.#log.warn({ activeSessionId: cur.value.sessionId }, 'stream taken over by another session');
      throw new InvalidStoreSessionError(this.storeId, this.sessionId, cur.value.sessionId);
    }
    if (now >= this.#expiresAt || (cur !== undefined && now >= cur.value.expiresAt)) {
      this.#log.warn({ expiresAt: this.#expiresAt }, 'session expired');
      throw new StoreSessionExpiredError(this.storeId, this.sessionId, this.#expiresAt);
    }
    // Gone while this session was never closed: another session took it over and has released it since.
    if (cur === undefined) throw new InvalidStoreSessionError(this.storeId, this.sessionId, undefined);
    if (cur.etag !== this.#leaseEtag) throw new StoreNotOpenError(this.storeId, this.sessionId);
  }

  /**
   * Rejects with `err` (a version mismatch against this session's view of the head)
   * once the stored lease is known to be this session's: else its view may be stale
   * (the lease was taken over, and the stream written) and the session error is the answer.
   */
  #mismatch(err: unknown): Promise<never> {
    return this.#checkStored().then(() => Promise.reject(err));
  }

  #fence(): KvBatchOp {
    return { op: 'check', key: this.#i.keys.lease, etag: this.#leaseEtag };
  }

  /**
   * Serialises writes of this session: `fn` starts at once when no write is
   * pending (saving a promise hop per append), else after the last one settles.
   */
  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.#tail;
    const p = prev === undefined ? fn() : prev.then(fn, fn);
    this.#tail = p;
    const settled = (): void => {
      if (this.#tail === p) this.#tail = undefined;
    };
    p.then(settled, settled);
    return p;
  }

  // ---- writes ------------------------------------------------------------

  /**
   * Appends events atomically and returns the new stream version. Versions are
   * assigned head+1..head+k. When `options.expectedVersion` or an event's
   * `expectedVersion` does not match, or an event id is already in the stream,
   * nothing is written.
   * @throws StoreVersionMismatchError, DuplicateIdempotencyIdError, InvalidStreamArgumentError,
   *   session errors, StoreBackendError
   */
  append(events: readonly NewEvent[], options?: AppendOptions): Promise<number> {
    try {
      this.#entry();
      let expected: number | undefined;
      if (options !== undefined) {
        if (options === null || typeof options !== 'object') throw new InvalidStreamArgumentError('append(events, options): options must be an object');
        const k = unknownKey(options, APPEND_OPTIONS);
        if (k !== undefined) throw new InvalidStreamArgumentError(unknownKeyMessage('append options', k, APPEND_OPTIONS), { key: k });
        if (options.expectedVersion !== undefined) expected = checkVersionArg(options.expectedVersion, 'expectedVersion', 0);
      }
      const now = this.#i.clock.now();
      const native = this.#native;
      if (native === undefined) {
        const prepared = prepareEvents(events, now);
        return this.#enqueue(() => this.#commit(prepared, expected));
      }
      const prepared = prepareForNativeLog(events, now);
      // No write pending and a live lease: commit now, synchronously (still in call
      // order), with no queue hop and no backend round trip. Not with a live view: its
      // publishing is asynchronous, and must finish (in version order, before close)
      // ahead of the next write, which the write queue guarantees.
      if (this.#tail === undefined && this.#i.publishTo === undefined && now < this.#expiresAt && !this.#closed) {
        return this.#commitNative(native, prepared, expected, now, now);
      }
      return this.#enqueue(async () => {
        await this.#check();
        return this.#commitNative(native, prepared, expected, this.#i.clock.now(), now);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Appends to the native log (session-native.ts). Throws synchronously on a
   * failed precondition; returns a settled promise otherwise, or the session
   * error when the lease fence failed (another session took the lease over).
   */
  #commitNative(native: NativeStream, prepared: readonly PreparedEvent[], expected: number | undefined, now: number, preparedAt: number): Promise<number> {
    const v = this.#headVersion;
    try {
      checkVersions(prepared, expected, v, this.storeId, this.#log);
    } catch (err) {
      return this.#mismatch(err);
    }
    // Nothing to write, but the head answered (and the expected version just accepted) must be
    // current: only while the stored lease is this session's (a lagging clock can believe a lease
    // another session took over), else the session error, as the fence gives a write.
    if (prepared.length === 0) return native.leaseIs(this.#leaseEtag, now) ? Promise.resolve(v) : this.#checkStored().then(() => Promise.reject(new StoreNotOpenError(this.storeId, this.sessionId)));
    let next: number;
    try {
      next = appendToNativeLog(native, prepared, v, this.#leaseEtag, now, preparedAt, this.storeId);
    } catch (err) {
      if (err instanceof StoreVersionMismatchError) this.#headVersion = err.actual;
      throw err;
    }
    if (next === FENCED) return this.#checkStored().then(() => Promise.reject(new StoreNotOpenError(this.storeId, this.sessionId)));
    this.#headVersion = next;
    if (this.#log.isLevelEnabled('debug')) this.#log.debug({ from: v + 1, to: next }, 'events appended');
    const publishTo = this.#i.publishTo;
    if (publishTo !== undefined) return publishCommitted(publishTo, this.streamId, native.log.range(v + 1, next), this.#log).then(() => next);
    return Promise.resolve(next);
  }

  /** Runs in the write queue: checks versions and caller ids against the generated-id index, then one atomic batch (fence, head CAS, event chunk, idempotency records). */
  async #commit(prepared: readonly PreparedWithId[], expected: number | undefined): Promise<number> {
    const pending = this.#check();
    if (pending !== undefined) await pending;
    const v = this.#headVersion;
    try {
      checkVersions(prepared, expected, v, this.storeId, this.#log);
    } catch (err) {
      return this.#mismatch(err);
    }
    const n = prepared.length;
    if (n === 0) {
      // No batch, so no fence: read the stored lease, so a session whose lease was taken over gets the session error, not its stale head.
      await this.#checkStored();
      return v;
    }
    try {
      await this.#reader.checkGivenNotGenerated('append', prepared);
    } catch (err) {
      // Found before the batch, so before its fence: answered only to the lease's holder.
      if (err instanceof DuplicateIdempotencyIdError) return this.#mismatch(err);
      throw err;
    }
    const ops = appendBatch(this.#i.keys, this.#fence(), v, this.#headEtag, prepared);
    let results: KvBatchResult[];
    try {
      results = await this.#i.backend.batch(ops);
    } catch (err) {
      return this.#fail('append', err, ops);
    }
    this.#headVersion = v + n;
    this.#headEtag = results[1] as string;
    this.#log.debug({ from: v + 1, to: v + n }, 'events appended');
    if (this.#i.publishTo !== undefined) await publishCommitted(this.#i.publishTo, this.streamId, committedEvents(ops), this.#log);
    return v + n;
  }

  /**
   * Extends the lease to now + sessionTimeoutMs (or `timeoutMs`, in [1, `MAX_SESSION_TIMEOUT_MS`]); returns the new expiry.
   * @throws InvalidStreamOptionError on a bad `timeoutMs`; session errors if the lease was already lost
   */
  async renew(timeoutMs: number = this.#i.sessionTimeoutMs): Promise<number> {
    this.#entry();
    checkSessionTimeout(timeoutMs, 'timeoutMs');
    return this.#enqueue(async () => {
      await this.#check();
      const expiresAt = this.#i.clock.now() + timeoutMs;
      try {
        this.#leaseEtag = await this.#i.backend.set(this.#i.keys.lease, leaseRecord(this.sessionId, expiresAt), { etag: this.#leaseEtag });
      } catch (err) {
        return this.#fail('renew', err, [{ op: 'check', key: this.#i.keys.lease, etag: this.#leaseEtag }]);
      }
      this.#expiresAt = expiresAt;
      this.#log.debug({ expiresAt }, 'session renewed');
      return expiresAt;
    });
  }

  /**
   * Releases the lease (only if this session still holds it) after pending
   * writes finish. Idempotent; later operations throw StoreNotOpenError.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#closing = true;
    this.#closePromise = this.#enqueue(async () => {
      this.#closed = true;
      this.#i.onClose(this);
      try {
        await this.#i.backend.remove(this.#i.keys.lease, { etag: this.#leaseEtag });
      } catch (err) {
        if (err instanceof KvConcurrencyError || err instanceof KvKeyNotFoundError) {
          this.#log.info('close: lease already held by another session or gone; left as is');
          return;
        }
        throw new StoreBackendError('close', this.storeId, err);
      }
      this.#log.info('session closed');
    });
    return this.#closePromise;
  }

  /** `await using session = await provider.open(...)` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- reads (session-reads.ts) -------------------------------------------

  /** Current stream version (0 when empty), from the head record: O(1). */
  async version(): Promise<number> {
    this.#entry();
    return this.#reader.version();
  }

  /**
   * Reads events up to `toVersion` (default the head), optionally starting from
   * the greatest snapshot <= toVersion.
   * @throws StreamVersionNotFoundError when toVersion is beyond the head
   */
  async read<TState = JsonValue, TData = JsonValue>(options: ReadOptions = {}): Promise<ReadResult<TState, TData>> {
    this.#entry();
    return this.#reader.read<TState, TData>(options);
  }

  /**
   * Events with first <= version <= last that exist (empty past the end).
   * @throws InvalidStreamArgumentError when first < 1 or first > last
   */
  async slice<TData = JsonValue>(first: number, last: number): Promise<StreamEvent<TData>[]> {
    this.#entry();
    return this.#reader.slice<TData>(first, last);
  }

  /**
   * The event at `version`.
   * @throws StreamVersionNotFoundError when the stream does not hold it
   */
  async get<TData = JsonValue>(version: number): Promise<StreamEvent<TData>> {
    this.#entry();
    return this.#reader.get<TData>(version);
  }

  /**
   * The version of the event whose id (idempotency id) is `idempotencyId`.
   * @throws StreamIdempotencyIdNotFoundError when the stream holds no such event
   */
  async versionOf(idempotencyId: string): Promise<number> {
    this.#entry();
    return this.#reader.versionOf(idempotencyId);
  }

  // ---- snapshots ---------------------------------------------------------

  /**
   * Stores `state` as the snapshot at `version` (1..head) and records it in the index.
   * @throws StreamVersionNotFoundError when version > head
   */
  async snapshot(version: number, state: unknown): Promise<void> {
    this.#entry();
    checkVersionArg(version, 'version', 1);
    // Copied now, as append() copies its events: the caller may go on changing its state
    // before this write's turn in the queue comes.
    const copy = frozenJsonCopy(state, 'state');
    return this.#enqueue(async () => {
      await this.#check();
      await this.#snapshots.write(version, copy);
    });
  }

  /**
   * Takes snapshots at every multiple of `chunkSize` up to the head, after the
   * greatest existing snapshot, sequentially: `reducer(stateAtPrevious, eventsSince, version)`.
   * Returns the versions written.
   */
  async snapshotEvery<TState = JsonValue, TData = JsonValue>(chunkSize: number, reducer: SnapshotReducer<TState, TData>): Promise<number[]> {
    this.#entry();
    checkVersionArg(chunkSize, 'chunkSize', 1);
    if (typeof reducer !== 'function') throw new InvalidStreamArgumentError('snapshotEvery(chunkSize, reducer): reducer must be a function');
    return this.#enqueue(async () => {
      await this.#check();
      const written = await this.#snapshots.every(chunkSize, reducer, (a, b) => this.#reader.range<TData>('snapshotEvery', a, b), async () => { await this.#check(); });
      // Nothing to write (so no fence) was decided on this session's view of the head: current only while the stored lease is its own.
      if (written.length === 0) await this.#checkStored();
      return written;
    });
  }

  /**
   * Removes the snapshot at `version` and its index entry.
   * @throws StreamSnapshotVersionNotFoundError when there is none
   */
  async clearSnapshot(version: number): Promise<void> {
    this.#entry();
    checkVersionArg(version, 'version', 1);
    return this.#enqueue(async () => {
      await this.#check();
      await this.#snapshots.clear(version);
    });
  }

  /** Removes every snapshot (indexed or not) and the index. */
  async clearSnapshots(): Promise<void> {
    this.#entry();
    return this.#enqueue(async () => {
      await this.#check();
      await this.#snapshots.clearAll();
    });
  }

  /** Snapshot versions, ascending. */
  async snapshotVersions(): Promise<number[]> {
    this.#entry();
    await this.#check();
    return this.#snapshots.versions();
  }

  /** Greatest snapshot version, 0 when none. */
  async lastSnapshotVersion(): Promise<number> {
    const v = await this.snapshotVersions();
    return v.length === 0 ? 0 : v[v.length - 1]!;
  }
}
