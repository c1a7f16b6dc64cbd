/**
 * Native stream logs of the in-memory backend. A stream opened on a
 * {@link MemoryBackend} keeps its events in one of these instead of key-value
 * records: its events by column (index = version - 1) and its idempotency
 * index (ids given by the caller in a Map; ids the log generates, which
 * increase with their versions, as numbers searched by binary search). The
 * session appends to it synchronously: it checks every precondition first and
 * only then mutates, and nothing can fail between the first and the last push,
 * so no undo log is needed for all-or-nothing.
 *
 * Events are stored unfrozen and deep-frozen when first handed out (read or
 * published): nothing outside the log can reach them before that (the data
 * and metadata are private copies), and `Object.freeze` costs about as much
 * per object as the copy, so each event is frozen once, and only if it is
 * ever read.
 *
 * The lease stays an ordinary key-value record (leases, renew, close and
 * take-over work as on any backend); {@link NativeStream.leaseIs} is the write
 * fence, a numeric etag compare on that record.
 */
import { metadataOf, ulids, type EventMetadata, type StreamEvent } from '../envelope.js';
import { ProviderClosedError } from '../errors.js';
import { deepFreeze, type JsonValue } from '../json.js';
import { formatUlid, parseUlid } from '../ulid.js';
import type { MemFolder } from './memory-folder.js';

/** An event to append to a {@link MemoryStreamLog}, its version not yet assigned. */
export interface NativeAppend {
  /** The id; undefined to have the log generate it (a ULID from the process's generator). */
  readonly id: string | undefined;
  readonly type: string;
  readonly data: JsonValue;
  /** The metadata, or the `createdAt` of the default metadata (see `metadataOf`). */
  readonly metadata: EventMetadata | string;
  /** True when the id is (or is to be) generated: fresh, so never a duplicate. */
  readonly generated: boolean;
}

/** Initial capacity, in events, of the generated-id parts. */
const PARTS_START = 16;

/** The events and idempotency index of one stream, in memory. */
export class MemoryStreamLog {
  // Events by column (index = version - 1), ids the log generated as numbers in
  // a typed array: per event no envelope object and no id string, only the
  // private copy of its data. Garbage collection, which scales with the memory
  // kept, was about half of the time of a one-event append.
  #length = 0;
  readonly #types: string[] = [];
  readonly #data: JsonValue[] = [];
  /** The metadata, or the `createdAt` of the default metadata (see `metadataOf`). */
  readonly #meta: (EventMetadata | string)[] = [];
  /** Ids stored as strings (all but those the log generated), by version - 1; created with the first one. */
  #ids: (string | undefined)[] | undefined;
  /** Ids the log generated, as ULID parts `time, hi, lo` at 3 * (version - 1). */
  #parts = new Float64Array(3 * PARTS_START);
  /**
   * Versions of the ids the log generated, ascending (so are the ids: one
   * monotonic generator). Undefined while every event has such an id: versions 1..length.
   */
  #generated: number[] | undefined;
  /** Versions of the ids stored as strings. */
  readonly #byId = new Map<string, number>();
  /** Envelopes of versions 1..length, built and deep-frozen when first handed out. */
  readonly #handed: StreamEvent[] = [];

  /** The head version (0 when empty). */
  get version(): number {
    return this.#length;
  }

  /** The event at `version` (deep-frozen), or undefined. */
  event(version: number): StreamEvent | undefined {
    if (version < 1 || version > this.#length) return undefined;
    this.#handOut(version);
    return this.#handed[version - 1];
  }

  /** The events first..last that exist, in version order (deep-frozen, in a new array). */
  range(first: number, last: number): StreamEvent[] {
    const end = Math.min(Math.max(0, last), this.#length);
    this.#handOut(end);
    return this.#handed.slice(Math.max(0, first - 1), end);
  }

  /** Builds and deep-freezes the envelopes up to `version` not handed out yet: each event once. */
  #handOut(version: number): void {
    const handed = this.#handed;
    for (let i = handed.length; i < version; i++) {
      const id = this.#idAt(i);
      handed.push(Object.freeze({ id, type: this.#types[i]!, data: deepFreeze(this.#data[i]!), metadata: deepFreeze(metadataOf(id, this.#meta[i]!)), version: i + 1 }));
    }
  }

  /** The id of the event at index `i` (version i + 1). */
  #idAt(i: number): string {
    const id = this.#ids?.[i];
    if (id !== undefined) return id;
    const p = this.#parts;
    return formatUlid(p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!);
  }

  /** The version of the event with id `id`, or -1. */
  versionOf(id: string): number {
    const v = this.#byId.get(id);
    if (v !== undefined) return v;
    const q = parseUlid(id);
    if (q === undefined) return -1;
    // Binary search of the generated ids, which increase with their versions.
    const gen = this.#generated;
    const n = gen === undefined ? this.#length : gen.length;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compareParts(gen === undefined ? mid : gen[mid]! - 1, q) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === n) return -1;
    const i = gen === undefined ? lo : gen[lo]! - 1;
    return this.#compareParts(i, q) === 0 ? i + 1 : -1;
  }

  /** Compares the generated id at index `i` with the parts `q`. */
  #compareParts(i: number, q: readonly [number, number, number]): number {
    const p = this.#parts;
    return p[3 * i]! - q[0] || p[3 * i + 1]! - q[1] || p[3 * i + 2]! - q[2];
  }

  /**
   * Index of the first event of `batch` whose id the log already holds, or -1.
   * Generated ids are fresh and unique by construction and are not looked up.
   */
  firstDuplicate(batch: readonly NativeAppend[]): number {
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      if (!e.generated && this.versionOf(e.id!) >= 0) return i;
    }
    return -1;
  }

  /**
   * Appends `batch` as versions head+1..head+n, generating the ids left
   * undefined for time `now`. The caller has checked the fence, the versions
   * and {@link firstDuplicate}; ids within one batch are distinct (checked
   * when the events were prepared). `data` and `metadata` must be private to
   * the log from now on (it freezes them on hand-out).
   */
  append(batch: readonly NativeAppend[], now: number): void {
    for (let k = 0; k < batch.length; k++) {
      const p = batch[k]!;
      const i = this.#length;
      if (p.id === undefined) this.#generate(i, now);
      else {
        if (this.#generated === undefined) {
          // The first id not generated here: list those so far explicitly, start the id column.
          this.#generated = Array.from({ length: i }, (_, j) => j + 1);
          this.#ids = new Array<string | undefined>(i);
        }
        this.#byId.set(p.id, i + 1);
      }
      // Once started, the id column gets an entry per event (kept dense).
      this.#ids?.push(p.id);
      this.#types.push(p.type);
      this.#data.push(p.data);
      this.#meta.push(p.metadata);
      this.#length = i + 1;
    }
  }

  /** Generates the id of the event at index `i` into the parts. */
  #generate(i: number, now: number): void {
    ulids.nextParts(now);
    let p = this.#parts;
    if (p.length < 3 * (i + 1)) {
      const grown = new Float64Array(p.length * 2);
      grown.set(p);
      this.#parts = p = grown;
    }
    p[3 * i] = ulids.time;
    p[3 * i + 1] = ulids.hi;
    p[3 * i + 2] = ulids.lo;
    this.#generated?.push(i + 1);
  }
}

/** The native log of one stream and its lease fence. */
export class NativeStream {
  /** The stream's events and idempotency index. */
  readonly log = new MemoryStreamLog();
  readonly #leases: MemFolder;
  readonly #leaseLeaf: string;
  #etagText = '';
  #etag = -1;
  #closed = false;

  /** @param leases - the folder holding the lease record; `leaseLeaf` its leaf. */
  constructor(leases: MemFolder, leaseLeaf: string) {
    this.#leases = leases;
    this.#leaseLeaf = leaseLeaf;
  }

  /** Throws ProviderClosedError once the backend is closed (as its key-value methods do). */
  assertOpen(): void {
    if (this.#closed) throw new ProviderClosedError();
  }

  /** @internal Called by the backend's `close()`. */
  close(): void {
    this.#closed = true;
  }

  /** True when the backend is open and the stream's lease record exists, is live at `now` and has etag `etag` (the write fence). */
  leaseIs(etag: string, now: number): boolean {
    if (this.#closed) return false;
    if (etag !== this.#etagText) {
      // Etags of the memory backend are `m<counter>`; parse once per etag, not per write.
      this.#etagText = etag;
      this.#etag = etag.charCodeAt(0) === 109 /* m */ ? Number(etag.slice(1)) : NaN;
    }
    return this.#leases.etagAt(this.#leaseLeaf, now) === this.#etag;
  }
}
