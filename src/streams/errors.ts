/**
 * Typed errors of the versioned streams (`ringstore/streams`).
 *
 * Every error is a {@link RingstoreError} with a stable `code`; match on the
 * code, not the message. The nine error kinds of the reference design
 * (Hexalith.EventStores) all exist here and each is thrown where it applies;
 * failures of a key-value backend are wrapped in {@link StoreBackendError} with
 * the original error as `cause`. `docs/streams.md` lists every code.
 */
import { meaningsOf, type ErrorCodeOf } from '../error-codes.js';
import { RingstoreError } from '../errors.js';
import { unknownKey, unknownKeyMessage } from '../known-keys.js';

/** The codes `ringstore/streams` raises and what each means (derived from the one table, `src/error-codes.ts`). */
export const StreamErrorCodes = meaningsOf('streams');

/** A code of {@link StreamErrorCodes}. */
export type StreamErrorCode = ErrorCodeOf<'streams'>;

/** Raised when an argument of a streams method is invalid. Nothing is written. */
export class InvalidStreamArgumentError extends RingstoreError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('RS_ERR_INVALID_ARGUMENT', message, details);
    this.name = 'InvalidStreamArgumentError';
  }
}

/** Raised when an option of the provider, a backend or `open()` is invalid. */
export class InvalidStreamOptionError extends RingstoreError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('RS_ERR_INVALID_OPTION', message, details);
    this.name = 'InvalidStreamOptionError';
  }
}

/** Raised by `open()` after the provider was closed. */
export class ProviderClosedError extends RingstoreError {
  /** @param what what was closed: the provider, or the key-value backend a caller used after its `close()`. */
  constructor(what = 'the stream store provider') {
    super('RS_ERR_CLOSED', `${what} is closed`);
    this.name = 'ProviderClosedError';
  }
}

/** Raised by any operation on a session that was closed. */
export class StoreNotOpenError extends RingstoreError {
  /** The stream, as `database/name/id`. */
  readonly storeId: string;
  /** The closed session's id. */
  readonly sessionId: string;
  constructor(storeId: string, sessionId: string) {
    super('RS_ERR_STORE_NOT_OPEN', `stream "${storeId}" is not open in session ${sessionId}`, { storeId, sessionId });
    this.name = 'StoreNotOpenError';
    this.storeId = storeId;
    this.sessionId = sessionId;
  }
}

/** Raised by any operation once the session's lease has expired (and nobody took it over). */
export class StoreSessionExpiredError extends RingstoreError {
  readonly storeId: string;
  readonly sessionId: string;
  /** When the lease expired (epoch ms, provider clock). */
  readonly expiration: number;
  constructor(storeId: string, sessionId: string, expiration: number) {
    super(
      'RS_ERR_STORE_SESSION_EXPIRED',
      `session ${sessionId} of stream "${storeId}" expired at ${new Date(expiration).toISOString()}; call renew() before the lease ends or open a new session`,
      { storeId, sessionId, expiration },
    );
    this.name = 'StoreSessionExpiredError';
    this.storeId = storeId;
    this.sessionId = sessionId;
    this.expiration = expiration;
  }
}

/** Raised by any operation once another session has taken the (expired) stream lease over. */
export class InvalidStoreSessionError extends RingstoreError {
  readonly storeId: string;
  readonly sessionId: string;
  /** The session that now holds the stream; undefined when the session that took it over has released it since. */
  readonly activeSessionId: string | undefined;
  constructor(storeId: string, sessionId: string, activeSessionId: string | undefined) {
    super(
      'RS_ERR_STORE_INVALID_SESSION',
      `session ${sessionId} no longer holds stream "${storeId}": ${activeSessionId === undefined ? 'another session took it over and has released it' : `session ${activeSessionId} took it over`}`,
      { storeId, sessionId, activeSessionId },
    );
    this.name = 'InvalidStoreSessionError';
    this.storeId = storeId;
    this.sessionId = sessionId;
    this.activeSessionId = activeSessionId;
  }
}

/** Raised by `open()` when the stream stayed held by a live session for `openTimeoutMs`, or when aborted. */
export class OpenStoreFailedError extends RingstoreError {
  readonly storeId: string;
  /** The open timeout that elapsed (ms). */
  readonly timeoutMs: number;
  constructor(storeId: string, timeoutMs: number, reason: string, options?: { cause?: unknown }) {
    super('RS_ERR_STORE_OPEN_FAILED', `could not open stream "${storeId}" within ${timeoutMs} ms: ${reason}`, { storeId, timeoutMs }, options);
    this.name = 'OpenStoreFailedError';
    this.storeId = storeId;
    this.timeoutMs = timeoutMs;
  }
}

/** Raised by `append()` when an expected version does not match; nothing is written. */
export class StoreVersionMismatchError extends RingstoreError {
  readonly storeId: string;
  /** The version the caller expected (for an event: the version it expected to get). */
  readonly expected: number;
  /** The version the stream actually had (for an event: the version it would have got). */
  readonly actual: number;
  constructor(storeId: string, expected: number, actual: number, eventId?: string) {
    super(
      'RS_ERR_STORE_VERSION_MISMATCH',
      eventId === undefined
        ? `stream "${storeId}": expected version ${expected} but the stream is at ${actual}`
        : `stream "${storeId}": event ${eventId} expected version ${expected} but would get ${actual}`,
      { storeId, expected, actual, eventId },
    );
    this.name = 'StoreVersionMismatchError';
    this.storeId = storeId;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Raised when a specific event version is requested that the stream does not hold. */
export class StreamVersionNotFoundError extends RingstoreError {
  readonly storeId: string;
  readonly version: number;
  constructor(storeId: string, version: number, head: number) {
    super('RS_ERR_STREAM_VERSION_NOT_FOUND', `stream "${storeId}" has no version ${version} (it is at ${head})`, { storeId, version, head });
    this.name = 'StreamVersionNotFoundError';
    this.storeId = storeId;
    this.version = version;
  }
}

/** Raised when a snapshot version is named that the snapshot collection does not hold. */
export class StreamSnapshotVersionNotFoundError extends RingstoreError {
  readonly storeId: string;
  readonly version: number;
  constructor(storeId: string, version: number) {
    super('RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND', `stream "${storeId}" has no snapshot at version ${version}`, { storeId, version });
    this.name = 'StreamSnapshotVersionNotFoundError';
    this.storeId = storeId;
    this.version = version;
  }
}

/** Raised by `versionOf()` for an event id the stream does not hold. */
export class StreamIdempotencyIdNotFoundError extends RingstoreError {
  readonly storeId: string;
  readonly idempotencyId: string;
  constructor(storeId: string, idempotencyId: string) {
    super('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND', `stream "${storeId}" holds no event with id "${idempotencyId}"`, { storeId, idempotencyId });
    this.name = 'StreamIdempotencyIdNotFoundError';
    this.storeId = storeId;
    this.idempotencyId = idempotencyId;
  }
}

/** Raised by `append()` when an event id is already in the stream; nothing is written. */
export class DuplicateIdempotencyIdError extends RingstoreError {
  readonly storeId: string;
  readonly idempotencyId: string;
  /** The version that already holds this id. */
  readonly existingVersion: number;
  constructor(storeId: string, idempotencyId: string, existingVersion: number) {
    super(
      'RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID',
      `stream "${storeId}" already holds event id "${idempotencyId}" at version ${existingVersion}`,
      { storeId, idempotencyId, existingVersion },
    );
    this.name = 'DuplicateIdempotencyIdError';
    this.storeId = storeId;
    this.idempotencyId = idempotencyId;
    this.existingVersion = existingVersion;
  }
}

/** Wraps any failure of the key-value backend; the original error is `cause`. */
export class StoreBackendError extends RingstoreError {
  /** What the stream layer was doing, e.g. `append`. */
  readonly operation: string;
  constructor(operation: string, storeId: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('RS_ERR_STORE_BACKEND', `backend failed during ${operation} on "${storeId}": ${why}`, { operation, storeId }, { cause });
    this.name = 'StoreBackendError';
    this.operation = operation;
  }
}

/** Backend: a create-only write (`add`) found the key present. */
export class KvDuplicateKeyError extends RingstoreError {
  readonly key: string;
  /** Index of the failing operation in a batch, if any. */
  readonly opIndex: number | undefined;
  constructor(key: string, opIndex?: number) {
    super('RS_ERR_KV_DUPLICATE_KEY', `key "${key}" already exists`, { key, opIndex });
    this.name = 'KvDuplicateKeyError';
    this.key = key;
    this.opIndex = opIndex;
  }
}

/** Backend: `get()` or an update named a missing key. */
export class KvKeyNotFoundError extends RingstoreError {
  readonly key: string;
  readonly opIndex: number | undefined;
  constructor(key: string, opIndex?: number) {
    super('RS_ERR_KV_KEY_NOT_FOUND', `key "${key}" not found`, { key, opIndex });
    this.name = 'KvKeyNotFoundError';
    this.key = key;
    this.opIndex = opIndex;
  }
}

/** Backend: an etag compare-and-set failed. */
export class KvConcurrencyError extends RingstoreError {
  readonly key: string;
  readonly expectedEtag: string | null;
  readonly actualEtag: string | null;
  readonly opIndex: number | undefined;
  constructor(key: string, expectedEtag: string | null, actualEtag: string | null, opIndex?: number) {
    super('RS_ERR_KV_CONCURRENCY', `key "${key}": expected etag ${expectedEtag ?? '(absent)'} but found ${actualEtag ?? '(absent)'}`, {
      key,
      expectedEtag,
      actualEtag,
      opIndex,
    });
    this.name = 'KvConcurrencyError';
    this.key = key;
    this.expectedEtag = expectedEtag;
    this.actualEtag = actualEtag;
    this.opIndex = opIndex;
  }
}

/** True for the backend's own precondition errors (duplicate key, not found, etag mismatch). */
export function isKvPreconditionError(e: unknown): e is KvDuplicateKeyError | KvKeyNotFoundError | KvConcurrencyError {
  return e instanceof KvDuplicateKeyError || e instanceof KvKeyNotFoundError || e instanceof KvConcurrencyError;
}

/**
 * Refuses a key of options object `o` that is not in `known` (`InvalidStreamOptionError` naming it): a misspelt
 * option (`replica`, `nosync`) would otherwise be ignored and its default used, silently.
 */
export function refuseUnknownOption(o: object, known: ReadonlySet<string>, what: string): void {
  const k = unknownKey(o, known);
  if (k !== undefined) throw new InvalidStreamOptionError(unknownKeyMessage(what, k, known), { option: `${what}.${k}` });
}
