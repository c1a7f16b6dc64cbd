/**
 * Every error ringstore throws is a {@link RingstoreError} with a stable
 * `code`. Match on `code`, not on the message: messages may improve, codes do
 * not change. Every code is defined once, in `src/error-codes.ts`;
 * `docs/errors.md` lists the store's codes, and a test keeps the two in sync.
 *
 * Errors cross threads as plain `{ code, message, details }` records (an Error
 * posted between threads loses its class and `.code` on Node 20) and are
 * rebuilt with {@link errorFromWire}.
 */

import { meaningsOf, type ErrorCode, type ErrorCodeOf } from './error-codes.js';
import type { AppendResult } from './store/types.js';

export type { ErrorCode, ErrorCodeOf, ErrorSource } from './error-codes.js';

/** The codes the embedded store raises and what each means (derived from the one table, `src/error-codes.ts`). */
export const ErrorCodes = meaningsOf('store');

/** A code of {@link ErrorCodes}: one the embedded store raises. */
export type StoreErrorCode = ErrorCodeOf<'store'>;

/** Base class of every error ringstore throws. */
export class RingstoreError extends Error {
  /** Stable machine-readable code, e.g. `RS_ERR_CONFLICT`: one of `src/error-codes.ts`. */
  readonly code: ErrorCode;
  /** Structured details (e.g. `{ expected, actual }` for a conflict). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
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

/**
 * Raised by an `append` of an array when some of its events were stored and
 * others were not: their partition failed for good, the store closed, or a
 * durable log refused the write, while the call was in flight. A partition
 * commits on its own, so events already committed on one partition cannot be
 * taken back when another fails (docs/architecture.md, "Arrays over several
 * partitions"). `results[i]` is the result of event `i` when it was stored,
 * `errors[i]` why it was not; `cause` is the first such error.
 */
export class PartialAppendError extends RingstoreError {
  readonly results: readonly (AppendResult | undefined)[];
  readonly errors: readonly (Error | undefined)[];

  constructor(results: readonly (AppendResult | undefined)[], errors: readonly (Error | undefined)[]) {
    const stored: { index: number; partition: number; position: number; version: number; id: string; duplicate: boolean }[] = [];
    const notStored: { index: number; code: string }[] = [];
    let first: Error | undefined;
    for (let i = 0; i < errors.length; i++) {
      const r = results[i];
      const e = errors[i];
      if (e !== undefined) {
        first ??= e;
        notStored.push({ index: i, code: (e as { code?: string }).code ?? 'RS_ERR_WORKER' });
      } else if (r !== undefined) stored.push({ index: i, partition: r.partition, position: r.position, version: r.version, id: r.id, duplicate: r.duplicate });
    }
    super(
      'RS_ERR_PARTIAL_APPEND',
      `${stored.length} of ${errors.length} events were stored and ${notStored.length} were not (${first?.message ?? 'unknown'}); retry only those not stored`,
      { stored, notStored },
      { cause: first },
    );
    this.name = 'PartialAppendError';
    this.results = results;
    this.errors = errors;
  }
}

/** The shape in which errors cross a thread boundary. */
export interface WireError {
  code: ErrorCode;
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
