/**
 * The daemon's error contract: every error response is
 * `{ "error": { "code", "message", ...details } }` with the status from
 * {@link HttpErrorCodes}. Codes are shared with the library (`RS_ERR_*`) and
 * defined once, in `src/error-codes.ts`; `docs/daemon.md` lists each one, and
 * a test keeps the two in sync.
 */
import { httpStatuses, type HttpErrorCode } from '../error-codes.js';
import { RingstoreError } from '../errors.js';

/** Every code the daemon answers with: its one HTTP status and meaning (derived from `src/error-codes.ts`). */
export const HttpErrorCodes = httpStatuses();

export type { HttpErrorCode };

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

/** An error that becomes one HTTP error response. */
export class HttpError extends RingstoreError {
  /** HTTP status. */
  readonly status: number;
  constructor(code: HttpErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
    this.name = 'HttpError';
    this.status = HttpErrorCodes[code].status;
  }
}

/** Shorthand for a 400 `RS_ERR_BAD_REQUEST`. */
export function badRequest(message: string, details?: Record<string, unknown>): HttpError {
  return new HttpError('RS_ERR_BAD_REQUEST', message, details);
}

const FASTIFY_CODES: Record<string, HttpErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'RS_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'RS_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'RS_ERR_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'RS_ERR_INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'RS_ERR_INVALID_JSON',
  FST_ERR_VALIDATION: 'RS_ERR_BAD_REQUEST',
  FST_ERR_NOT_FOUND: 'RS_ERR_NOT_FOUND',
};

const isScalar = (v: unknown): v is number | string | boolean => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

/** A plain record of scalars, copied (RS_ERR_PARTIAL_APPEND's `stored` / `notStored` items); undefined otherwise. */
function scalarRecord(v: unknown): Record<string, number | string | boolean> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return undefined;
  const out: Record<string, number | string | boolean> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!isScalar(x)) return undefined;
    out[k] = x;
  }
  return out;
}

/**
 * Details safe to echo: numbers, strings, booleans, and arrays of plain records of those (the lists of
 * RS_ERR_PARTIAL_APPEND); never stacks, causes or errors.
 */
function safeDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (details === undefined) return out;
  for (const [k, v] of Object.entries(details)) {
    if (k === 'code' || k === 'message') continue;
    if (isScalar(v)) out[k] = v;
    else if (Array.isArray(v)) {
      const items = v.map(scalarRecord);
      if (items.every((x) => x !== undefined)) out[k] = items;
    }
  }
  return out;
}

/**
 * Maps anything thrown by a route, a hook, fastify or the stores to a status
 * and an {@link ErrorBody}. Unknown errors are 500 `RS_ERR_INTERNAL` with a
 * generic message (the real one is logged, never sent).
 */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof RingstoreError) {
    const known = (HttpErrorCodes as Record<string, { status: number }>)[err.code];
    if (known !== undefined) {
      return { status: known.status, body: { error: { code: err.code, message: err.message, ...safeDetails(err.details) } }, internal: known.status >= 500 };
    }
    // Backend-level codes (RS_ERR_KV_*) should never escape the session layer.
    return { status: 500, body: { error: { code: 'RS_ERR_INTERNAL', message: 'internal error' } }, internal: true };
  }
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown; validation?: unknown; validationContext?: unknown } | null;
  const fcode = typeof e?.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (fcode !== undefined) {
    let message = typeof e?.message === 'string' ? e.message : fcode;
    if (fcode === 'RS_ERR_BODY_TOO_LARGE') message = 'request body is larger than the body limit';
    return { status: HttpErrorCodes[fcode].status, body: { error: { code: fcode, message } }, internal: false };
  }
  if (e !== null && typeof e === 'object' && Array.isArray(e.validation)) {
    return { status: 400, body: { error: { code: 'RS_ERR_BAD_REQUEST', message: String(e.message) } }, internal: false };
  }
  // Any other 4xx raised by fastify or node (e.g. malformed URL): keep the status, never leak internals.
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code: HttpErrorCode = status === 413 ? 'RS_ERR_BODY_TOO_LARGE' : status === 415 ? 'RS_ERR_UNSUPPORTED_MEDIA_TYPE' : status === 404 ? 'RS_ERR_NOT_FOUND' : 'RS_ERR_BAD_REQUEST';
    return { status: HttpErrorCodes[code].status, body: { error: { code, message: typeof e?.message === 'string' ? e.message : code } }, internal: false };
  }
  return { status: 500, body: { error: { code: 'RS_ERR_INTERNAL', message: 'internal error' } }, internal: true };
}

/** JSON schema of {@link ErrorBody}, used in every route's responses. */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
      additionalProperties: true,
    },
  },
  required: ['error'],
} as const;
