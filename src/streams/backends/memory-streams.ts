/**
 * Native stream logs of the in-memory backend. A stream written on a
 * {@link MemoryBackend} keeps its events in one of these instead of key-value
 * records (created by its first append: a stream only opened or read has none): its events by column (index = version - 1) and its idempotency
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
import { isoTime, ulids } from '../../ids/event-id.js';
import type { EventMetadata, StreamEvent } from '../envelope.js';
import { ProviderClosedError } from '../errors.js';
import { freezeCopy, type JsonValue } from '../json.js';
import { formatUlid, parseUlid } from '../../ids/ulid.js';
import type { MemFolder } from './memory-folder.js';

/** An event to append to a {@link MemoryStreamLog}, its version not yet assigned. */
export interface NativeAppend {
  /** The id; undefined to have the log generate it (a ULID from the process's generator). */
  readonly id: string | undefined;
  readonly type: string;
  readonly data: JsonValue;
  /** The metadata; a string (the default metadata's createdAt) for the default: `{ correlationId: id, createdAt }` of the append's time. */
  readonly metadata: EventMetadata | string;
  /** True when the id is (or is to be) generated: fresh, so never a duplicate. */
  readonly generated: boolean;
}

/** Numbers kept per event, in one Float64Array: generated id (3), createdAt, type. */
const STRIDE = 5;
const ID_TIME = 0;
const ID_HI = 1;
const ID_LO = 2;
const CREATED = 3;
const TYPE = 4;
/** Initial capacity, in events (doubled when full). */
const START = 4;

/** The events and idempotency index of one stream, in memory. */
export class MemoryStreamLog {
  // Garbage collection scales with the memory kept, and was half of the time of
  // a one-event append when events were envelope objects. So an event is kept
  // as the private copy of its data (the only object) plus numbers in a typed
  // array, which the collector does not scan: the id the log generated (ULID
  // parts), the createdAt of default metadata, and the index of its type in a
  // per-log table. Strings and objects that are rare stay in sparse columns.
  #length = 0;
  /** `STRIDE` numbers per event, at `STRIDE * (version - 1)`. */
  #nums = new Float64Array(STRIDE * START);
  readonly #data: JsonValue[] = [];
  /** Event types, by the index kept per event. */
  readonly #typeNames: string[] = [];
  readonly #typeIndex = new Map<string, number>();
  #lastType = '';
  #lastTypeIndex = -1;
  /** Ids stored as strings (all but those the log generated), by version - 1; created with the first one. */
  #ids: (string | undefined)[] | undefined;
  /** Metadata given at append time, by version - 1 (undefined: the default); created with the first one. */
  #meta: (EventMetadata | undefined)[] | undefined;
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
    const nums = this.#nums;
    for (let i = handed.length; i < version; i++) {
      const id = this.#idAt(i);
      const at = STRIDE * i;
      const given = this.#meta?.[i];
      const metadata = given !== undefined ? freezeCopy(given) : Object.freeze({ correlationId: id, createdAt: isoTime(nums[at + CREATED]!) });
      const type = this.#typeNames[nums[at + TYPE]!]!;
      handed.push(Object.freeze({ id, type, data: freezeCopy(this.#data[i]!), metadata, version: i + 1 }));
    }
  }

  /** The id of the event at index `i` (version i + 1). */
  #idAt(i: number): string {
    const id = this.#ids?.[i];
    if (id !== undefined) return id;
    const n = this.#nums;
    const at = STRIDE * i;
    return formatUlid(n[at + ID_TIME]!, n[at + ID_HI]!, n[at + ID_LO]!);
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
      if (this.#compareId(gen === undefined ? mid : gen[mid]! - 1, q) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === n) return -1;
    const i = gen === undefined ? lo : gen[lo]! - 1;
    return this.#compareId(i, q) === 0 ? i + 1 : -1;
  }

  /** Compares the generated id at index `i` with the ULID parts `q`. */
  #compareId(i: number, q: readonly [number, number, number]): number {
    const n = this.#nums;
    const at = STRIDE * i;
    return n[at + ID_TIME]! - q[0] || n[at + ID_HI]! - q[1] || n[at + ID_LO]! - q[2];
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
   * Appends `batch` as versions head+1..head+n, prepared at time `now` (the
   * time of the ids left undefined, which the log generates, and the createdAt
   * of default metadata). The caller has checked the fence, the versions and
   * {@link firstDuplicate}; ids within one batch are distinct (checked when
   * the events were prepared). `data` and `metadata` must be private to the
   * log from now on (it freezes them on hand-out).
   */
  append(batch: readonly NativeAppend[], now: number): void {
    for (let k = 0; k < batch.length; k++) {
      const p = batch[k]!;
      const i = this.#length;
      let nums = this.#nums;
      if (nums.length < STRIDE * (i + 1)) {
        const grown = new Float64Array(nums.length * 2);
        grown.set(nums);
        this.#nums = nums = grown;
      }
      const at = STRIDE * i;
      if (p.id === undefined) {
        ulids.nextParts(now);
        nums[at + ID_TIME] = ulids.time;
        nums[at + ID_HI] = ulids.hi;
        nums[at + ID_LO] = ulids.lo;
        this.#generated?.push(i + 1);
      } else {
        if (this.#generated === undefined) {
          // The first id not generated here: list those so far explicitly, start the id column.
          this.#generated = Array.from({ length: i }, (_, j) => j + 1);
          this.#ids = new Array<string | undefined>(i);
        }
        this.#byId.set(p.id, i + 1);
      }
      // Once started, a sparse column gets an entry per event (kept dense).
      this.#ids?.push(p.id);
      if (typeof p.metadata === 'string') {
        nums[at + CREATED] = now;
        this.#meta?.push(undefined);
      } else (this.#meta ??= new Array<EventMetadata | undefined>(i)).push(p.metadata);
      nums[at + TYPE] = this.#typeOf(p.type);
      this.#data.push(p.data);
      this.#length = i + 1;
    }
  }

  /** The index of `type` in the type table (added when new). */
  #typeOf(type: string): number {
    if (type === this.#lastType) return this.#lastTypeIndex;
    let index = this.#typeIndex.get(type);
    if (index === undefined) {
      index = this.#typeNames.push(type) - 1;
      this.#typeIndex.set(type, index);
    }
    this.#lastType = type;
    this.#lastTypeIndex = index;
    return index;
  }
}

/**
 * What a {@link NativeStream} asks its backend, by the stream's keys: whether
 * the backend is closed, the lease folder as it is now, and the stream's log.
 */
export interface NativeStreamHost {
  closed(): boolean;
  /** The folder holding the lease record, or undefined when there is none (no lease). Never creates it. */
  leases(): MemFolder | undefined;
  /** The stream's log; created (and kept by the backend) only when `create`. */
  log(create: boolean): MemoryStreamLog | undefined;
}

/**
 * The log of every stream that has none yet: read-only by convention (only
 * {@link NativeStream.writableLog} is appended to), so a stream that is only
 * opened, read or refused a write makes the backend keep nothing.
 */
const EMPTY_LOG = new MemoryStreamLog();

/**
 * A session's handle on the native log of one stream and its lease fence.
 * One per open session; the backend keeps only the logs of streams written to
 * (created by the first append that passes its checks), so the handle looks
 * the log up until there is one, then keeps it (logs are never dropped before
 * the backend closes). It holds the lease folder it last found, and looks it
 * up again when the backend dropped it (emptied when a lease was released).
 */
export class NativeStream {
  readonly #host: NativeStreamHost;
  readonly #leaseLeaf: string;
  #leases: MemFolder | undefined;
  #log: MemoryStreamLog | undefined;
  #etagText = '';
  #etag = -1;

  /** @param host - the backend's view of this stream; `leaseLeaf` the lease record's leaf in its folder. */
  constructor(host: NativeStreamHost, leaseLeaf: string) {
    this.#host = host;
    this.#leaseLeaf = leaseLeaf;
  }

  /** The stream's events and idempotency index (an empty log while it has none). Read only: append to {@link writableLog}. */
  get log(): MemoryStreamLog {
    if (this.#log !== undefined) return this.#log;
    const log = this.#host.log(false);
    if (log === undefined) return EMPTY_LOG;
    this.#log = log;
    return log;
  }

  /** The stream's log, created in the backend if it has none: called only to append to it. */
  writableLog(): MemoryStreamLog {
    return (this.#log ??= this.#host.log(true)!);
  }

  /** Throws ProviderClosedError once the backend is closed (as its key-value methods do). */
  assertOpen(): void {
    if (this.#host.closed()) throw new ProviderClosedError('the in-memory key-value backend');
  }

  /** True when the backend is open and the stream's lease record exists, is live at `now` and has etag `etag` (the write fence). */
  leaseIs(etag: string, now: number): boolean {
    if (this.#host.closed()) return false;
    if (etag !== this.#etagText) {
      // Etags of the memory backend are `m<counter>`; parse once per etag, not per write.
      this.#etagText = etag;
      this.#etag = etag.charCodeAt(0) === 109 /* m */ ? Number(etag.slice(1)) : NaN;
    }
    let leases = this.#leases;
    if (leases === undefined || leases.detached) {
      leases = this.#leases = this.#host.leases();
      if (leases === undefined) return false;
    }
    return leases.etagAt(this.#leaseLeaf, now) === this.#etag;
  }
}
