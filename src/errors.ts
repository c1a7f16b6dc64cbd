/**
 * Every error ringstore throws is a {@link RingstoreError} with a stable
 * `code`. Match on `code`, not on the message: messages may improve, codes do
 * not change. `docs/errors.md` lists every code; a test keeps the two in sync.
 *
 * Errors cross threads as plain `{ code, message, details }` records (an Error
 * posted between threads loses its class and `.code` on Node 20) and are
 * rebuilt with {@link errorFromWire}.
 */

/** The table of error codes and what each means. */
export const ErrorCodes = {
  RS_ERR_INVALID_OPTION: 'An option given to a constructor or builder is invalid.',
  RS_ERR_INVALID_ARGUMENT: 'An argument given to a method is invalid.',
  RS_ERR_ENCODE: 'An event could not be encoded (not JSON-serialisable, or a selector failed).',
  RS_ERR_NON_FINITE: 'A declared numeric value or timestamp is not a finite number.',
  RS_ERR_EVENT_TOO_LARGE: 'An encoded event is larger than the partition can hold.',
  RS_ERR_CONFLICT: 'The expected version of a key did not match its actual version.',
  RS_ERR_CLOSED: 'The store is closed, or was closed while the operation was pending.',
  RS_ERR_UNKNOWN_VALUE: 'A query named a value that was not declared with `values`.',
  RS_ERR_WINDOW_DISABLED: 'A window query was made on a store created without a window.',
  RS_ERR_WORKER: 'A partition worker failed while serving a request.',
  RS_ERR_DESCRIPTOR: 'A descriptor passed to attach() is not a ringstore descriptor.',
  RS_ERR_TOO_MANY_PRODUCERS: 'Every producer slot of the store is taken.',
  RS_ERR_DISK_FULL: 'A durable write found no space left on the device; nothing of it was kept, and the next write retries.',
  RS_ERR_IO: 'A durable write or sync failed with an I/O error; the log refuses writes until it is reopened.',
  RS_ERR_LOG_CORRUPT: 'A durable log or checkpoint is damaged where a crash cannot explain it; the error names the file and offset.',
  RS_ERR_DATA_DIR_LOCKED: 'The data directory is in use by another process or thread.',
  RS_ERR_DATA_DIR_MISMATCH: 'The data directory was created with a different partition count or format version.',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** Base class of every error ringstore throws. */
export class RingstoreError extends Error {
  /** Stable machine-readable code, e.g. `RS_ERR_CONFLICT`. */
  readonly code: string;
  /** Structured details (e.g. `{ expected, actual }` for a conflict). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RingstoreError';
    this.code = code;
    this.details = details;
  }

  /** Plain record for postMessage; see {@link errorFromWire}. */
  toWire(): WireError {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Raised when an append's `expectedVersion` does not match the key's version. */
export class ConflictError extends RingstoreError {
  readonly expected: number;
  readonly actual: number;
  readonly key: string;

  constructor(key: string, expected: number, actual: number) {
    super('RS_ERR_CONFLICT', `expected version ${expected} of key "${key}" but it is at ${actual}`, {
      key,
      expected,
      actual,
    });
    this.name = 'ConflictError';
    this.key = key;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Raised by operations on a closed store, and by appends pending at close. */
export class ClosedError extends RingstoreError {
  constructor(what = 'the store is closed') {
    super('RS_ERR_CLOSED', what);
    this.name = 'ClosedError';
  }
}

/** The shape in which errors cross a thread boundary. */
export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown> | undefined;
}

/** Rebuilds a typed error from its wire form. */
export function errorFromWire(wire: WireError): RingstoreError {
  if (wire.code === 'RS_ERR_CONFLICT' && wire.details) {
    const d = wire.details as { key: string; expected: number; actual: number };
    return new ConflictError(d.key, d.expected, d.actual);
  }
  if (wire.code === 'RS_ERR_CLOSED') return new ClosedError(wire.message);
  return new RingstoreError(wire.code, wire.message, wire.details);
}

/** Converts anything thrown into its wire form. */
export function errorToWire(err: unknown): WireError {
  if (err instanceof RingstoreError) return err.toWire();
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'RS_ERR_WORKER', message };
}

/** Shorthand used by option validation. */
export function invalidOption(message: string, details?: Record<string, unknown>): RingstoreError {
  return new RingstoreError('RS_ERR_INVALID_OPTION', message, details);
}

/** Shorthand used by argument validation. */
export function invalidArgument(message: string, details?: Record<string, unknown>): RingstoreError {
  return new RingstoreError('RS_ERR_INVALID_ARGUMENT', message, details);
}
