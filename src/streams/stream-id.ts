/**
 * Stream identity: one canonical `{ database, name, id }` (the reference mapped
 * the same aggregate to different storage depending on which overload opened
 * it). Every part is non-empty and is URI-encoded into backend keys, so no part
 * can collide with another stream's keys.
 */
import { InvalidStreamArgumentError } from './errors.js';

/** Default database of streams opened without one. */
export const DEFAULT_DATABASE = 'EventStores';

/** Identity of one stream: the aggregate type (`name`) and instance (`id`) within a `database`. */
export interface StreamIdInput {
  /** Database / partition / tenant. Default: the provider's `defaults.database` (`"EventStores"`). */
  database?: string;
  /** Aggregate type, e.g. `"BankAccount"`. */
  name: string;
  /** Aggregate id, e.g. `"1500530001"`. */
  id: string;
}

/** A validated, frozen stream identity. */
export interface StreamId {
  readonly database: string;
  readonly name: string;
  readonly id: string;
}

const MAX_PART = 512;

/** Length of `encodeURIComponent(value)`, or -1 when the text has a lone surrogate. */
export function encodedLength(value: string): number {
  try {
    return encodeURIComponent(value).length;
  } catch {
    return -1;
  }
}

function checkPart(value: unknown, part: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new InvalidStreamArgumentError(`stream id ${part} must be a non-empty string`, { part, value: String(value) });
  }
  // A "/" inside a part would make `database/name/id` (the store id, the live view's
  // `name/id`) ambiguous between two streams, and the string form could not name it.
  if (value.includes('/')) {
    throw new InvalidStreamArgumentError(`stream id ${part} must not contain "/"`, { part, value });
  }
  // Parts are URI-encoded into backend keys (streamKeys): the bound is on the encoded length, so the longest
  // stream id fits every backend's keys (LMDB's hold 1,978 bytes; a non-ASCII character encodes to up to 12).
  const encoded = encodedLength(value);
  if (encoded < 0) throw new InvalidStreamArgumentError(`stream id ${part} is not well-formed UTF-16 (a lone surrogate)`, { part });
  if (encoded > MAX_PART) {
    throw new InvalidStreamArgumentError(`stream id ${part} is longer than ${MAX_PART} characters once URI-encoded (${encoded})`, { part, length: encoded });
  }
  return value;
}

/**
 * Validates a stream id given as an object or as the string `name/id` (or
 * `database/name/id`), filling the database with `defaultDatabase`.
 * @throws InvalidStreamArgumentError on an empty or malformed part.
 */
export function parseStreamId(input: StreamIdInput | string, defaultDatabase = DEFAULT_DATABASE): StreamId {
  if (typeof input === 'string') {
    const parts = input.split('/');
    if (parts.length === 2) return Object.freeze({ database: defaultDatabase, name: checkPart(parts[0], 'name'), id: checkPart(parts[1], 'id') });
    if (parts.length === 3) {
      return Object.freeze({ database: checkPart(parts[0], 'database'), name: checkPart(parts[1], 'name'), id: checkPart(parts[2], 'id') });
    }
    throw new InvalidStreamArgumentError('a stream id string must be "name/id" or "database/name/id"', { streamId: input });
  }
  if (input === null || typeof input !== 'object') {
    throw new InvalidStreamArgumentError('a stream id must be { database?, name, id } or a "name/id" string');
  }
  const database = input.database === undefined ? defaultDatabase : checkPart(input.database, 'database');
  return Object.freeze({ database, name: checkPart(input.name, 'name'), id: checkPart(input.id, 'id') });
}

/** `database/name/id`, the store id used in errors and logs. */
export function formatStoreId(s: StreamId): string {
  return `${s.database}/${s.name}/${s.id}`;
}

/** Backend keys of one stream. Parts are URI-encoded so `/` only separates folders. */
export interface StreamKeys {
  /** Head record `{ version }` (O(1) version). */
  readonly head: string;
  /** Session lease `{ sessionId, expiresAt, owner }`. */
  readonly lease: string;
  /** Snapshot index `{ versions: number[] }`. */
  readonly index: string;
  /** Folder of events, leaf = zero-padded version. */
  readonly events: string;
  /** Folder of the idempotency index of ids given by the caller, leaf = encoded event id, value = version. */
  readonly idem: string;
  /**
   * Folder of the index of generated ids, one record per append and ULID
   * millisecond: leaf = `<10-char ULID time>.<16-digit version of the first id>`,
   * value = the ids, in version order.
   */
  readonly gen: string;
  /** Folder of snapshots, leaf = zero-padded version. */
  readonly snapshots: string;
}

/** Computes the backend keys of a stream. */
export function streamKeys(s: StreamId): StreamKeys {
  const p = `${encodeURIComponent(s.database)}/${encodeURIComponent(s.name)}/${encodeURIComponent(s.id)}/`;
  return Object.freeze({ head: `${p}h`, lease: `${p}l`, index: `${p}x`, events: `${p}e/`, idem: `${p}i/`, gen: `${p}g/`, snapshots: `${p}s/` });
}

/** Zero-pads a version to 16 digits so versions sort as strings (max safe integer has 16 digits). */
export function padVersion(v: number): string {
  return v.toString().padStart(16, '0');
}
