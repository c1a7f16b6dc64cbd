/**
 * The read side of a {@link StreamSession}: head version, full and snapshot
 * reads, slices, single events and the idempotency index. Reads are not
 * queued behind the session's writes; the session checks itself before each.
 */
import type { KeyValueBackend } from './backend.js';
import type { StreamEvent } from './envelope.js';
import { InvalidStreamArgumentError, StoreBackendError, StreamIdempotencyIdNotFoundError, StreamVersionNotFoundError } from './errors.js';
import type { JsonValue } from './json.js';
import type { Snapshot, SnapshotCollection } from './snapshots.js';
import { padVersion, type StreamKeys } from './stream-id.js';

/** Options of `StreamSession.read`. */
export interface ReadOptions {
  /** Read up to this version (default: the head). Must exist (0 reads nothing). */
  toVersion?: number;
  /** Start from the greatest snapshot <= toVersion (default false). */
  useSnapshot?: boolean;
}

/** Result of `StreamSession.read`: the snapshot used (if any) and the events after it. */
export interface ReadResult<TState = JsonValue, TData = JsonValue> {
  /** The snapshot the events continue from, when `useSnapshot` found one. */
  snapshot?: Snapshot<TState>;
  /** Events in version order: 1..toVersion, or snapshot.version+1..toVersion. */
  events: StreamEvent<TData>[];
}

/** The head record `{ version }`. */
export interface HeadRecord {
  version: number;
}

/** Checks an integer argument >= `min`. @throws InvalidStreamArgumentError */
export function checkVersionArg(v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new InvalidStreamArgumentError(`${what} must be an integer >= ${min}`, { [what]: v });
  }
  return v;
}

/** Idempotency-index key of an event id (ids known to be key-safe skip the encoding). */
export function idemKey(keys: StreamKeys, id: string, keySafe = false): string {
  return keys.idem + (keySafe ? id : encodeURIComponent(id));
}

/** @internal What the reader needs from its session. */
export interface ReaderContext {
  readonly backend: KeyValueBackend;
  readonly keys: StreamKeys;
  readonly storeId: string;
  readonly snapshots: SnapshotCollection;
  /** The session check; undefined when it passed synchronously. */
  check(): Promise<void> | undefined;
}

/** @internal The read operations of one session (arguments checked, session not yet checked). */
export class StreamReader {
  readonly #c: ReaderContext;

  constructor(context: ReaderContext) {
    this.#c = context;
  }

  async #checked(): Promise<void> {
    const pending = this.#c.check();
    if (pending !== undefined) await pending;
  }

  /** Runs a backend call, wrapping its failure in StoreBackendError. */
  async tryBackend<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreBackendError(operation, this.#c.storeId, err);
    }
  }

  /** The stored head (version 0, etag null when the stream is empty). */
  async readHead(operation: string): Promise<{ version: number; etag: string | null }> {
    const h = await this.tryBackend(operation, () => this.#c.backend.tryGet<HeadRecord>(this.#c.keys.head));
    return h === undefined ? { version: 0, etag: null } : { version: h.value.version, etag: h.etag };
  }

  /** Events first..last that exist, in version order. */
  async range<TData>(operation: string, first: number, last: number): Promise<StreamEvent<TData>[]> {
    const rows = await this.tryBackend(operation, () =>
      this.#c.backend.list<StreamEvent<TData>>(this.#c.keys.events, { start: padVersion(first), end: padVersion(last) }),
    );
    const out: StreamEvent<TData>[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rows[i]!.value;
    return out;
  }

  async version(): Promise<number> {
    await this.#checked();
    return (await this.readHead('version')).version;
  }

  async read<TState, TData>(options: ReadOptions): Promise<ReadResult<TState, TData>> {
    if (options === null || typeof options !== 'object') throw new InvalidStreamArgumentError('read(options): options must be an object');
    const to = options.toVersion === undefined ? undefined : checkVersionArg(options.toVersion, 'toVersion', 0);
    await this.#checked();
    const head = (await this.readHead('read')).version;
    const last = to ?? head;
    if (last > head) throw new StreamVersionNotFoundError(this.#c.storeId, last, head);
    let snapshot: Snapshot<TState> | undefined;
    if (options.useSnapshot === true && last > 0) snapshot = await this.#c.snapshots.greatestAtOrBelow<TState>(last);
    const first = (snapshot?.version ?? 0) + 1;
    const events = first > last ? [] : await this.range<TData>('read', first, last);
    return snapshot === undefined ? { events } : { snapshot, events };
  }

  async slice<TData>(first: number, last: number): Promise<StreamEvent<TData>[]> {
    checkVersionArg(first, 'first', 1);
    checkVersionArg(last, 'last', 1);
    if (first > last) throw new InvalidStreamArgumentError(`slice(first, last): first (${first}) is greater than last (${last})`, { first, last });
    await this.#checked();
    return this.range<TData>('slice', first, last);
  }

  async get<TData>(version: number): Promise<StreamEvent<TData>> {
    checkVersionArg(version, 'version', 1);
    await this.#checked();
    const e = await this.tryBackend('get', () => this.#c.backend.tryGet<StreamEvent<TData>>(this.#c.keys.events + padVersion(version)));
    if (e === undefined) throw new StreamVersionNotFoundError(this.#c.storeId, version, (await this.readHead('get')).version);
    return e.value;
  }

  async versionOf(idempotencyId: string): Promise<number> {
    if (typeof idempotencyId !== 'string' || idempotencyId.length === 0) throw new InvalidStreamArgumentError('versionOf(id): id must be a non-empty string');
    await this.#checked();
    const e = await this.tryBackend('versionOf', () => this.#c.backend.tryGet<number>(idemKey(this.#c.keys, idempotencyId)));
    if (e === undefined) throw new StreamIdempotencyIdNotFoundError(this.#c.storeId, idempotencyId);
    return e.value;
  }
}
