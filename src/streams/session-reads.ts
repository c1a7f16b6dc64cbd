/**
 * The read side of a {@link StreamSession}: head version, full and snapshot
 * reads, slices, single events and the idempotency index. Reads are not
 * queued behind the session's writes; the session checks itself before each.
 */
import type { KeyValueBackend } from './backend.js';
import type { MemoryStreamLog, NativeStream } from './backends/memory-streams.js';
import type { PreparedWithId, StreamEvent } from './envelope.js';
import { DuplicateIdempotencyIdError, InvalidStreamArgumentError, StoreBackendError, StreamIdempotencyIdNotFoundError, StreamVersionNotFoundError } from './errors.js';
import type { JsonValue } from './json.js';
import type { Snapshot, SnapshotCollection } from './snapshots.js';
import { padVersion, type StreamKeys } from './stream-id.js';
import { keySet, unknownKey, unknownKeyMessage } from '../known-keys.js';

/** Options of `StreamSession.read`. */
export interface ReadOptions {
  /** Read up to this version (default: the head). Must exist (0 reads nothing). */
  toVersion?: number;
  /** Start from the greatest snapshot <= toVersion (default false). */
  useSnapshot?: boolean;
}

const READ_OPTIONS = keySet<ReadOptions>({ toVersion: 1, useSnapshot: 1 });

/** Result of `StreamSession.read`: the snapshot used (if any) and the events after it. */
export interface ReadResult<TState = JsonValue, TData = JsonValue> {
  /** The snapshot the events continue from, when `useSnapshot` found one. */
  snapshot?: Snapshot<TState>;
  /** Events in version order: 1..toVersion, or snapshot.version+1..toVersion. */
  events: StreamEvent<TData>[];
}

/**
 * A stored event record: a chunk (the envelopes of one append, in version
 * order, keyed by its last version), or a single envelope keyed by its own
 * version (the layout before chunks: read as a one-event chunk).
 */
export type ChunkValue<TData = JsonValue> = readonly StreamEvent<TData>[] | StreamEvent<TData>;

/** The envelopes of a stored event record. */
export function chunkEvents<TData>(value: ChunkValue<TData>): readonly StreamEvent<TData>[] {
  return Array.isArray(value) ? (value as readonly StreamEvent<TData>[]) : [value as StreamEvent<TData>];
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

/** Length of a ULID's time part. */
export const ULID_TIME_LEN = 10;
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Whether `id` has the shape of a generated id (a ULID), so may be in the generated-id index. */
export function mayBeGenerated(id: string): boolean {
  return id.length === 26 && ULID_RE.test(id);
}

/** The leaf range (inclusive) of the generated-id records that may hold `id` (a ULID). */
export function genLeafRange(id: string): { start: string; end: string } {
  const time = id.slice(0, ULID_TIME_LEN);
  return { start: `${time}.`, end: `${time}.~` };
}

/** The version of `id` in one generated-id record, or -1. */
export function versionInGenRecord(key: string, ids: readonly string[], id: string): number {
  const i = ids.indexOf(id);
  return i < 0 ? -1 : Number(key.slice(key.length - 16)) + i;
}

/** @internal What the reader needs from its session. */
export interface ReaderContext {
  readonly backend: KeyValueBackend;
  readonly keys: StreamKeys;
  readonly storeId: string;
  /** The stream's native log (memory backend), read instead of key-value records. */
  readonly native: NativeStream | undefined;
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

  /** The native log, once the backend is known to be open (else StoreBackendError, as a key-value read would). */
  #nativeLog(operation: string): MemoryStreamLog {
    try {
      this.#c.native!.assertOpen();
    } catch (err) {
      throw new StoreBackendError(operation, this.#c.storeId, err);
    }
    return this.#c.native!.log;
  }

  /** The stored head (version 0, etag null when the stream is empty). */
  async readHead(operation: string): Promise<{ version: number; etag: string | null }> {
    if (this.#c.native !== undefined) return { version: this.#nativeLog(operation).version, etag: null };
    const h = await this.tryBackend(operation, () => this.#c.backend.tryGet<HeadRecord>(this.#c.keys.head));
    return h === undefined ? { version: 0, etag: null } : { version: h.value.version, etag: h.etag };
  }

  /**
   * Events first..last that exist, in version order. Events are stored in
   * chunks keyed by their last version (see `appendBatch`): the chunks whose
   * last version is in first..last, plus the one chunk (if any) that starts at
   * or before `last` and ends after it.
   */
  async range<TData>(operation: string, first: number, last: number): Promise<StreamEvent<TData>[]> {
    if (this.#c.native !== undefined) return this.#nativeLog(operation).range(first, last) as StreamEvent<TData>[];
    const { backend, keys } = this.#c;
    const rows = await this.tryBackend(operation, () => backend.list<ChunkValue<TData>>(keys.events, { start: padVersion(first), end: padVersion(last) }));
    const chunks: (readonly StreamEvent<TData>[])[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) chunks[i] = chunkEvents(rows[i]!.value);
    const tail = chunks.length === 0 ? undefined : chunks[chunks.length - 1]!;
    if (tail === undefined || tail[tail.length - 1]!.version < last) {
      const more = await this.tryBackend(operation, () => backend.list<ChunkValue<TData>>(keys.events, { start: padVersion(last + 1), limit: 1 }));
      if (more.length > 0) {
        const c = chunkEvents(more[0]!.value);
        if (c[0]!.version <= last) chunks.push(c);
      }
    }
    let count = 0;
    for (const c of chunks) count += c.length;
    const out: StreamEvent<TData>[] = new Array(count);
    let k = 0;
    for (const c of chunks) {
      for (let i = 0; i < c.length; i++) {
        const e = c[i]!;
        if (e.version >= first && e.version <= last) out[k++] = e;
      }
    }
    out.length = k;
    return out;
  }

  /** The stored event at `version`, or undefined: the first chunk whose last version is >= `version`. */
  async #event<TData>(operation: string, version: number): Promise<StreamEvent<TData> | undefined> {
    if (this.#c.native !== undefined) return this.#nativeLog(operation).event(version) as StreamEvent<TData> | undefined;
    const rows = await this.tryBackend(operation, () => this.#c.backend.list<ChunkValue<TData>>(this.#c.keys.events, { start: padVersion(version), limit: 1 }));
    if (rows.length === 0) return undefined;
    const c = chunkEvents(rows[0]!.value);
    const e = c[version - c[0]!.version];
    return e !== undefined && e.version === version ? e : undefined;
  }

  async version(): Promise<number> {
    await this.#checked();
    return (await this.readHead('version')).version;
  }

  async read<TState, TData>(options: ReadOptions): Promise<ReadResult<TState, TData>> {
    if (options === null || typeof options !== 'object') throw new InvalidStreamArgumentError('read(options): options must be an object');
    const k = unknownKey(options, READ_OPTIONS);
    if (k !== undefined) throw new InvalidStreamArgumentError(unknownKeyMessage('read options', k, READ_OPTIONS), { key: k });
    const to = options.toVersion === undefined ? undefined : checkVersionArg(options.toVersion, 'toVersion', 0);
    // Only `true` reads from a snapshot: any other value (1, "true") would read the whole stream, silently.
    if (options.useSnapshot !== undefined && typeof options.useSnapshot !== 'boolean') throw new InvalidStreamArgumentError('read options.useSnapshot must be a boolean', { key: 'useSnapshot' });
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
    const e = await this.#event<TData>('get', version);
    if (e === undefined) throw new StreamVersionNotFoundError(this.#c.storeId, version, (await this.readHead('get')).version);
    return e;
  }

  /** The version of the event with id `id` in the generated-id index, or -1. */
  async generatedVersion(operation: string, id: string): Promise<number> {
    if (!mayBeGenerated(id)) return -1;
    const rows = await this.tryBackend(operation, () => this.#c.backend.list<readonly string[]>(this.#c.keys.gen, genLeafRange(id)));
    for (const r of rows) {
      const v = versionInGenRecord(r.key, r.value, id);
      if (v >= 0) return v;
    }
    return -1;
  }

  /**
   * Throws DuplicateIdempotencyIdError when an id given by the caller is the
   * generated id of an earlier append: those are indexed in bulk (see
   * `appendBatch`), not by a create-only key. The head compare-and-set in the
   * append's batch proves nothing was appended since this read.
   */
  async checkGivenNotGenerated(operation: string, prepared: readonly PreparedWithId[]): Promise<void> {
    for (const p of prepared) {
      if (p.generated || !mayBeGenerated(p.id)) continue;
      const existing = await this.generatedVersion(operation, p.id);
      if (existing >= 0) throw new DuplicateIdempotencyIdError(this.#c.storeId, p.id, existing);
    }
  }

  /** The version of the event with id `id` (either index), or -1. */
  async indexedVersion(operation: string, id: string): Promise<number> {
    if (this.#c.native !== undefined) return this.#nativeLog(operation).versionOf(id);
    const e = await this.tryBackend(operation, () => this.#c.backend.tryGet<number>(idemKey(this.#c.keys, id)));
    return e !== undefined ? e.value : this.generatedVersion(operation, id);
  }

  async versionOf(idempotencyId: string): Promise<number> {
    if (typeof idempotencyId !== 'string' || idempotencyId.length === 0) throw new InvalidStreamArgumentError('versionOf(id): id must be a non-empty string');
    await this.#checked();
    const v = await this.indexedVersion('versionOf', idempotencyId);
    if (v < 0) throw new StreamIdempotencyIdNotFoundError(this.#c.storeId, idempotencyId);
    return v;
  }
}
