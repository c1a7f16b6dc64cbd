/**
 * One open stream: an exclusive, leased session on a stream. Writes are
 * serialised per session, each committed as one atomic backend batch that also
 * re-checks the lease (a fence) and compare-and-sets the head record.
 */
import type { Logger } from 'pino';
import type { KeyValueBackend, KvBatchOp, KvBatchResult } from './backend.js';
import type { Clock } from './clock.js';
import { prepareEvents, type NewEvent, type StreamEvent } from './envelope.js';
import {
  DuplicateIdempotencyIdError,
  InvalidStoreSessionError,
  InvalidStreamArgumentError,
  KvConcurrencyError,
  KvDuplicateKeyError,
  KvKeyNotFoundError,
  StoreBackendError,
  StoreNotOpenError,
  StoreSessionExpiredError,
  StoreVersionMismatchError,
  StreamIdempotencyIdNotFoundError,
  StreamVersionNotFoundError,
} from './errors.js';
import type { JsonValue } from './json.js';
import { leaseRecord, type LeaseRecord } from './lease.js';
import type { LiveSink } from './live.js';
import { SnapshotCollection, type Snapshot, type SnapshotReducer } from './snapshots.js';
import { padVersion, type StreamId, type StreamKeys } from './stream-id.js';

/** Options of {@link StreamSession.append}. */
export interface AppendOptions {
  /** The version the stream must be at before this append (0 = empty stream). */
  expectedVersion?: number;
}

/** Options of {@link StreamSession.read}. */
export interface ReadOptions {
  /** Read up to this version (default: the head). Must exist (0 reads nothing). */
  toVersion?: number;
  /** Start from the greatest snapshot <= toVersion (default false). */
  useSnapshot?: boolean;
}

/** Result of {@link StreamSession.read}: the snapshot used (if any) and the events after it. */
export interface ReadResult<TState = JsonValue, TData = JsonValue> {
  /** The snapshot the events continue from, when `useSnapshot` found one. */
  snapshot?: Snapshot<TState>;
  /** Events in version order: 1..toVersion, or snapshot.version+1..toVersion. */
  events: StreamEvent<TData>[];
}

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
  readonly onClose: (s: StreamSession) => void;
}

interface HeadRecord {
  version: number;
}

function checkVersionArg(v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new InvalidStreamArgumentError(`${what} must be an integer >= ${min}`, { [what]: v });
  }
  return v;
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
  #leaseEtag: string;
  #expiresAt: number;
  #head: { version: number; etag: string | null };
  #queue: Promise<unknown> = Promise.resolve();
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
    this.#head = { ...init.head };
    this.#log = init.logger.child({ storeId: init.storeId, sessionId: init.sessionId });
    this.#snapshots = new SnapshotCollection({
      backend: init.backend,
      keys: init.keys,
      storeId: init.storeId,
      clock: init.clock,
      logger: this.#log,
      fence: () => this.#fence(),
      headVersion: async () => this.#head.version,
      fail: (op, err, ops) => this.#fail(op, err, ops),
    });
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
    let cur;
    try {
      cur = await this.#i.backend.tryGet<LeaseRecord>(this.#i.keys.lease);
    } catch (err) {
      throw new StoreBackendError('session check', this.storeId, err);
    }
    const now = this.#i.clock.now();
    if (cur !== undefined && cur.value.sessionId !== this.sessionId) {
      this.#log.warn({ activeSessionId: cur.value.sessionId }, 'stream taken over by another session');
      throw new InvalidStoreSessionError(this.storeId, this.sessionId, cur.value.sessionId);
    }
    if (now >= this.#expiresAt || (cur !== undefined && now >= cur.value.expiresAt)) {
      this.#log.warn({ expiresAt: this.#expiresAt }, 'session expired');
      throw new StoreSessionExpiredError(this.storeId, this.sessionId, this.#expiresAt);
    }
    if (cur === undefined || cur.etag !== this.#leaseEtag) throw new StoreNotOpenError(this.storeId, this.sessionId);
  }

  #fence(): KvBatchOp {
    return { op: 'check', key: this.#i.keys.lease, etag: this.#leaseEtag };
  }

  /** Maps a failed batch to the stream error it means. Always throws. */
  async #fail(operation: string, err: unknown, ops: readonly KvBatchOp[]): Promise<never> {
    if (err instanceof KvDuplicateKeyError || err instanceof KvConcurrencyError || err instanceof KvKeyNotFoundError) {
      const key = err.opIndex === undefined ? undefined : ops[err.opIndex]?.key;
      const k = this.#i.keys;
      if (key === k.lease) {
        await this.#checkStored();
        throw new StoreNotOpenError(this.storeId, this.sessionId);
      }
      if (key === k.head || key?.startsWith(k.events)) {
        const expected = this.#head.version;
        const fresh = await this.#readHead(operation);
        this.#head = fresh;
        this.#log.warn({ expected, actual: fresh.version }, 'version moved under the session');
        throw new StoreVersionMismatchError(this.storeId, expected, fresh.version);
      }
      if (key?.startsWith(k.idem) && err instanceof KvDuplicateKeyError) {
        const id = decodeURIComponent(key.slice(k.idem.length));
        const existing = await this.#tryBackend(operation, () => this.#i.backend.tryGet<number>(key));
        throw new DuplicateIdempotencyIdError(this.storeId, id, existing?.value ?? -1);
      }
    }
    this.#log.error({ err, operation }, 'backend failure');
    throw new StoreBackendError(operation, this.storeId, err);
  }

  async #tryBackend<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreBackendError(operation, this.storeId, err);
    }
  }

  async #readHead(operation: string): Promise<{ version: number; etag: string | null }> {
    const h = await this.#tryBackend(operation, () => this.#i.backend.tryGet<HeadRecord>(this.#i.keys.head));
    return h === undefined ? { version: 0, etag: null } : { version: h.value.version, etag: h.etag };
  }

  /** Serialises writes of this session. */
  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
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
  async append(events: readonly NewEvent[], options: AppendOptions = {}): Promise<number> {
    this.#entry();
    if (options === null || typeof options !== 'object') throw new InvalidStreamArgumentError('append(events, options): options must be an object');
    const expected = options.expectedVersion === undefined ? undefined : checkVersionArg(options.expectedVersion, 'expectedVersion', 0);
    const prepared = prepareEvents(events, this.#i.clock.now());
    return this.#enqueue(async () => {
      const pending = this.#check();
      if (pending !== undefined) await pending;
      const v = this.#head.version;
      if (expected !== undefined && expected !== v) {
        this.#log.warn({ expected, actual: v }, 'version mismatch');
        throw new StoreVersionMismatchError(this.storeId, expected, v);
      }
      for (let i = 0; i < prepared.length; i++) {
        const ev = prepared[i]!.expectedVersion;
        if (ev !== undefined && ev !== v + 1 + i) {
          this.#log.warn({ expected: ev, actual: v + 1 + i }, 'event version mismatch');
          throw new StoreVersionMismatchError(this.storeId, ev, v + 1 + i, prepared[i]!.id);
        }
      }
      const n = prepared.length;
      if (n === 0) return v;
      const k = this.#i.keys;
      const ops: KvBatchOp[] = new Array(2 + 2 * n);
      ops[0] = this.#fence();
      ops[1] = { op: 'set', key: k.head, value: { version: v + n }, etag: this.#head.etag };
      const stored: StreamEvent[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const p = prepared[i]!;
        const version = v + 1 + i;
        const env: StreamEvent = Object.freeze({ id: p.id, type: p.type, data: p.data, metadata: p.metadata, version });
        stored[i] = env;
        ops[2 + 2 * i] = { op: 'add', key: k.events + padVersion(version), value: env };
        ops[3 + 2 * i] = { op: 'add', key: k.idem + encodeURIComponent(p.id), value: version };
      }
      let results: KvBatchResult[];
      try {
        results = await this.#i.backend.batch(ops);
      } catch (err) {
        return this.#fail('append', err, ops);
      }
      this.#head = { version: v + n, etag: results[1] as string };
      this.#log.debug({ from: v + 1, to: v + n }, 'events appended');
      if (this.#i.publishTo !== undefined) await this.#publish(stored);
      return v + n;
    });
  }

  async #publish(events: readonly StreamEvent[]): Promise<void> {
    const sink = this.#i.publishTo!;
    const stream = `${this.streamId.name}/${this.streamId.id}`;
    for (const e of events) {
      try {
        await sink.append({ stream, database: this.streamId.database, id: e.id, type: e.type, version: e.version, data: e.data, metadata: e.metadata });
      } catch (err) {
        // The stream commit stands; the live view is best effort and says so.
        this.#log.error({ err, version: e.version }, 'live view publish failed');
      }
    }
  }

  /**
   * Extends the lease to now + sessionTimeoutMs (or `timeoutMs`); returns the new expiry.
   * @throws session errors if the lease was already lost
   */
  async renew(timeoutMs: number = this.#i.sessionTimeoutMs): Promise<number> {
    this.#entry();
    checkVersionArg(timeoutMs, 'timeoutMs', 1);
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

  // ---- reads -------------------------------------------------------------

  /** Current stream version (0 when empty), from the head record: O(1). */
  async version(): Promise<number> {
    this.#entry();
    await this.#check();
    return (await this.#readHead('version')).version;
  }

  /**
   * Reads events up to `toVersion` (default the head), optionally starting from
   * the greatest snapshot <= toVersion.
   * @throws StreamVersionNotFoundError when toVersion is beyond the head
   */
  async read<TState = JsonValue, TData = JsonValue>(options: ReadOptions = {}): Promise<ReadResult<TState, TData>> {
    this.#entry();
    if (options === null || typeof options !== 'object') throw new InvalidStreamArgumentError('read(options): options must be an object');
    const to = options.toVersion === undefined ? undefined : checkVersionArg(options.toVersion, 'toVersion', 0);
    await this.#check();
    const head = (await this.#readHead('read')).version;
    const last = to ?? head;
    if (last > head) throw new StreamVersionNotFoundError(this.storeId, last, head);
    let snapshot: Snapshot<TState> | undefined;
    if (options.useSnapshot === true && last > 0) snapshot = await this.#snapshots.greatestAtOrBelow<TState>(last);
    const first = (snapshot?.version ?? 0) + 1;
    const events = first > last ? [] : await this.#range<TData>('read', first, last);
    return snapshot === undefined ? { events } : { snapshot, events };
  }

  /**
   * Events with first <= version <= last that exist (empty past the end).
   * @throws InvalidStreamArgumentError when first < 1 or first > last
   */
  async slice<TData = JsonValue>(first: number, last: number): Promise<StreamEvent<TData>[]> {
    this.#entry();
    checkVersionArg(first, 'first', 1);
    checkVersionArg(last, 'last', 1);
    if (first > last) throw new InvalidStreamArgumentError(`slice(first, last): first (${first}) is greater than last (${last})`, { first, last });
    await this.#check();
    return this.#range<TData>('slice', first, last);
  }

  /**
   * The event at `version`.
   * @throws StreamVersionNotFoundError when the stream does not hold it
   */
  async get<TData = JsonValue>(version: number): Promise<StreamEvent<TData>> {
    this.#entry();
    checkVersionArg(version, 'version', 1);
    await this.#check();
    const e = await this.#tryBackend('get', () => this.#i.backend.tryGet<StreamEvent<TData>>(this.#i.keys.events + padVersion(version)));
    if (e === undefined) throw new StreamVersionNotFoundError(this.storeId, version, (await this.#readHead('get')).version);
    return e.value;
  }

  /**
   * The version of the event whose id (idempotency id) is `idempotencyId`.
   * @throws StreamIdempotencyIdNotFoundError when the stream holds no such event
   */
  async versionOf(idempotencyId: string): Promise<number> {
    this.#entry();
    if (typeof idempotencyId !== 'string' || idempotencyId.length === 0) throw new InvalidStreamArgumentError('versionOf(id): id must be a non-empty string');
    await this.#check();
    const e = await this.#tryBackend('versionOf', () => this.#i.backend.tryGet<number>(this.#i.keys.idem + encodeURIComponent(idempotencyId)));
    if (e === undefined) throw new StreamIdempotencyIdNotFoundError(this.storeId, idempotencyId);
    return e.value;
  }

  async #range<TData>(operation: string, first: number, last: number): Promise<StreamEvent<TData>[]> {
    const rows = await this.#tryBackend(operation, () =>
      this.#i.backend.list<StreamEvent<TData>>(this.#i.keys.events, { start: padVersion(first), end: padVersion(last) }),
    );
    const out: StreamEvent<TData>[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rows[i]!.value;
    return out;
  }

  // ---- snapshots ---------------------------------------------------------

  /**
   * Stores `state` as the snapshot at `version` (1..head) and records it in the index.
   * @throws StreamVersionNotFoundError when version > head
   */
  async snapshot(version: number, state: unknown): Promise<void> {
    this.#entry();
    checkVersionArg(version, 'version', 1);
    return this.#enqueue(async () => {
      await this.#check();
      await this.#snapshots.write(version, state);
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
      return this.#snapshots.every(chunkSize, reducer, (a, b) => this.#range<TData>('snapshotEvery', a, b), async () => { await this.#check(); });
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
