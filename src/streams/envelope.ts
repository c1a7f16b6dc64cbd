/**
 * The event envelope stored per version.
 *
 * Mapping to the reference's `EventMessage` (Hexalith.EventStores):
 *
 * | ringstore                | EventMessage                                 |
 * |--------------------------|----------------------------------------------|
 * | `id` (ULID)              | `Metadata.Message.Id` (also the idempotency id) |
 * | `type`                   | `Metadata.Message.Name` (+ `Version` as `NameV2`) |
 * | `data`                   | `Event` (the polymorphic payload)            |
 * | `metadata.correlationId` | `Metadata.Context.CorrelationId`             |
 * | `metadata.causationId`   | (not in the record; data-model.md only)      |
 * | `metadata.userId`        | `Metadata.Context.UserId`                    |
 * | `metadata.createdAt`     | `Metadata.Message.CreatedDate` (UTC here)    |
 * | `version`                | `Metadata.Context.SequenceNumber`            |
 * | stream id database/name/id | `PartitionId` / `Domain.Name` / `Domain.Id` |
 */
import { InvalidStreamArgumentError } from './errors.js';
import { keySet, unknownKey, unknownKeyMessage } from '../known-keys.js';
import { encodedLength } from './stream-id.js';
import { INVALID_JSON, isWellFormed, throwInvalidJson, tryJsonCopy, type JsonValue } from './json.js';
import { isoTime, nextEventId } from '../ids/event-id.js';
import { isUlidTime } from '../ids/ulid.js';

/** Metadata of a stored event. Extra JSON fields given at append time are kept. */
export interface EventMetadata {
  /** Correlation id; defaults to the event id. */
  readonly correlationId: string;
  /** Id of the message that caused this event, if given. */
  readonly causationId?: string;
  /** User on whose behalf the event was appended, if given. */
  readonly userId?: string;
  /** When the event was appended (ISO 8601, UTC, from the provider clock). */
  readonly createdAt: string;
  readonly [key: string]: JsonValue | undefined;
}

/** An event as stored in and read from a stream. Read-only. */
export interface StreamEvent<TData = JsonValue> {
  /** Event id (a ULID unless given); the idempotency id. */
  readonly id: string;
  /** Event type, e.g. `"FundsDeposited"`. */
  readonly type: string;
  /** Event payload (JSON). */
  readonly data: TData;
  /** Metadata. */
  readonly metadata: EventMetadata;
  /** Version of the event in its stream, 1..N. */
  readonly version: number;
}

/** An event to append. */
export interface NewEvent<TData = unknown> {
  /** Idempotency id; a ULID is generated when omitted. Appending an id the stream holds fails. */
  id?: string;
  /** Event type (non-empty). */
  type: string;
  /** JSON payload. */
  data: TData;
  /** Optional metadata; `createdAt` is always set by the store. */
  metadata?: { correlationId?: string; causationId?: string; userId?: string; [key: string]: unknown };
  /** The version this event must get (the reference's SequenceNumber); a mismatch fails the whole append. */
  expectedVersion?: number;
}

const MAX_ID = 256;

/** Throws {@link InvalidStreamArgumentError} unless an id can be generated for time `now`. */
function checkIdTime(now: number): void {
  if (!isUlidTime(now)) throw new InvalidStreamArgumentError(`cannot make a ULID for time ${now}`, { now });
}

/**
 * A new ULID (monotonic within the process: the generator the store and the daemon share).
 * @throws InvalidStreamArgumentError when `now` cannot be a ULID time.
 */
export function newEventId(now: number): string {
  checkIdTime(now);
  return nextEventId(now);
}

function optString(v: unknown, index: number, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID) {
    const path = `events[${index}].${field}`;
    throw new InvalidStreamArgumentError(`${path} must be a non-empty string of at most ${MAX_ID} characters`, { path });
  }
  return v;
}

/** An appended event checked and copied, before its version is known. */
export interface PreparedEvent {
  /** The id; undefined when prepared for a native log, which generates it when it stores the event. */
  readonly id: string | undefined;
  readonly type: string;
  readonly data: JsonValue;
  /**
   * The metadata; or, when prepared for a native log and none was given, just
   * its `createdAt`: the default `{ correlationId: id, createdAt }` is built
   * when needed (see {@link metadataOf}).
   */
  readonly metadata: EventMetadata | string;
  readonly expectedVersion: number | undefined;
  /** True when the store generates `id` (a fresh monotonic ULID: unique by construction, key-safe). */
  readonly generated: boolean;
}

/** An event prepared with its id (see {@link prepareEvents}: always, unless prepared for a native log). */
export type PreparedWithId = PreparedEvent & { readonly id: string };

/** The metadata of a prepared (or natively stored) event, built when it was left as its `createdAt`. */
export function metadataOf(id: string, metadata: EventMetadata | string): EventMetadata {
  return typeof metadata === 'string' ? { correlationId: id, createdAt: metadata } : metadata;
}

/**
 * Validates and copies the events of one `append()` call, ids generated and
 * copies of `data` and `metadata` deep-frozen.
 * @throws InvalidStreamArgumentError on any invalid field or an id repeated in the call.
 */
export function prepareEvents(events: unknown, now: number): PreparedWithId[] {
  return prepare(events, now, false) as PreparedWithId[];
}

/**
 * {@link prepareEvents} for a native log (`MemoryStreamLog`), which keeps the
 * copies private and freezes them when it hands them out, and generates ids
 * when it stores the events: nothing is frozen, default metadata is left as
 * its `createdAt` string (see {@link metadataOf}) and ids not given are left
 * undefined (unless given metadata needs one as its `correlationId`).
 */
export function prepareForNativeLog(events: unknown, now: number): PreparedEvent[] {
  return prepare(events, now, true);
}

const EVENT_KEYS = keySet<NewEvent>({ id: 1, type: 1, data: 1, metadata: 1, expectedVersion: 1 });

function prepare(events: unknown, now: number, native: boolean): PreparedEvent[] {
  const freeze = !native;
  if (!Array.isArray(events)) throw new InvalidStreamArgumentError('append(events): events must be an array');
  const createdAt = isoTime(now);
  const n = events.length;
  const out: PreparedEvent[] = new Array(n);
  // Ids given by the caller may repeat within the call; generated ones cannot.
  let given: Set<string> | undefined;
  for (let i = 0; i < n; i++) {
    const e = events[i] as NewEvent | null;
    if (e === null || typeof e !== 'object') throw new InvalidStreamArgumentError(`events[${i}] must be an object { type, data }`, { index: i });
    const unknown = unknownKey(e, EVENT_KEYS);
    if (unknown !== undefined) throw new InvalidStreamArgumentError(unknownKeyMessage(`events[${i}]`, unknown, EVENT_KEYS), { index: i, key: unknown });
    const type = e.type;
    if (typeof type !== 'string' || type.length === 0 || type.length > MAX_ID) {
      throw new InvalidStreamArgumentError(`events[${i}].type must be a non-empty string of at most ${MAX_ID} characters`, { index: i });
    }
    if (!isWellFormed(type)) throw new InvalidStreamArgumentError(`events[${i}].type is not well-formed UTF-16 (a lone surrogate)`, { index: i });
    let id = optString(e.id, i, 'id');
    if (id !== undefined) {
      // Ids are URI-encoded into idempotency keys: bounded encoded, so every backend's keys hold them (LMDB's 1,978 bytes).
      const encoded = encodedLength(id);
      if (encoded < 0 || encoded > MAX_ID) {
        throw new InvalidStreamArgumentError(`events[${i}].id must be at most ${MAX_ID} characters once URI-encoded, and well-formed UTF-16`, { path: `events[${i}].id`, length: encoded });
      }
    }
    const generated = id === undefined;
    if (id === undefined) {
      // The native log makes the id when it stores the event: check its time now, so a
      // multi-event append cannot fail halfway through the log's pushes.
      if (!native) id = newEventId(now);
      else checkIdTime(now);
    } else if (n > 1) {
      given ??= new Set<string>();
      if (given.has(id)) throw new InvalidStreamArgumentError(`events[${i}].id "${id}" appears twice in one append`, { index: i, id });
      given.add(id);
    }
    let expectedVersion: number | undefined;
    if (e.expectedVersion !== undefined) {
      if (!Number.isSafeInteger(e.expectedVersion) || e.expectedVersion < 1) {
        throw new InvalidStreamArgumentError(`events[${i}].expectedVersion must be an integer >= 1`, { index: i });
      }
      expectedVersion = e.expectedVersion;
    }
    if (e.data === undefined) throw new InvalidStreamArgumentError(`events[${i}].data is required (use null for no payload)`, { index: i });
    const data = tryJsonCopy(e.data, freeze);
    if (data === INVALID_JSON) throwInvalidJson(e.data, `events[${i}].data`);
    let metadata: EventMetadata | string;
    if (e.metadata === undefined) {
      metadata = freeze ? Object.freeze({ correlationId: id!, createdAt }) : createdAt;
    } else {
      if (e.metadata === null || typeof e.metadata !== 'object') throw new InvalidStreamArgumentError(`events[${i}].metadata must be an object`, { index: i });
      const copied = tryJsonCopy(e.metadata, freeze);
      if (copied === INVALID_JSON) throwInvalidJson(e.metadata, `events[${i}].metadata`);
      const m = copied as Record<string, JsonValue>;
      // Given metadata without a correlationId takes the event id: generate it now.
      const correlationId = optString(m.correlationId, i, 'metadata.correlationId') ?? (id ??= newEventId(now));
      optString(m.causationId, i, 'metadata.causationId');
      optString(m.userId, i, 'metadata.userId');
      metadata = { ...m, correlationId, createdAt } as EventMetadata;
      if (freeze) Object.freeze(metadata);
    }
    out[i] = { id, type, data, metadata, expectedVersion, generated };
  }
  return out;
}
