/**
 * The daemon's error contract: every error response is
 * `{ "error": { "code", "message", ...details } }` with the status from
 * {@link HttpErrorCodes}. Codes are shared with the library (`RS_ERR_*`);
 * `docs/daemon.md` lists each one, and a test keeps the two in sync.
 */
import { RingstoreError } from '../errors.js';

/** Every code the daemon answers with: its HTTP status and meaning. */
export const HttpErrorCodes = {
  RS_ERR_BAD_REQUEST: { status: 400, meaning: 'The request does not match the route schema (wrong type, missing field, out of range).' },
  RS_ERR_INVALID_JSON: { status: 400, meaning: 'The body is not valid JSON (or an NDJSON line is not).' },
  RS_ERR_INVALID_ARGUMENT: { status: 400, meaning: 'An argument was rejected by the store (bad id, duplicate id in one batch, bad version bounds...).' },
  RS_ERR_INVALID_OPTION: { status: 400, meaning: 'A session option is invalid (timeouts).' },
  RS_ERR_ENCODE: { status: 400, meaning: 'An event could not be encoded.' },
  RS_ERR_NON_FINITE: { status: 400, meaning: 'A numeric value or timestamp is not finite.' },
  RS_ERR_UNKNOWN_VALUE: { status: 400, meaning: 'A query named a value the store does not declare.' },
  RS_ERR_WINDOW_DISABLED: { status: 400, meaning: 'A window query on a store without a window.' },
  RS_ERR_UNAUTHORIZED: { status: 401, meaning: 'A token is configured and the request has no `Authorization: Bearer` header.' },
  RS_ERR_FORBIDDEN: { status: 403, meaning: 'The bearer token is wrong.' },
  RS_ERR_NOT_FOUND: { status: 404, meaning: 'No such route.' },
  RS_ERR_STORE_NOT_OPEN: { status: 404, meaning: 'No open session with this id (never opened, closed, or swept after expiry).' },
  RS_ERR_STREAM_VERSION_NOT_FOUND: { status: 404, meaning: 'The versioned stream does not hold this version.' },
  RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND: { status: 404, meaning: 'No snapshot at this version.' },
  RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND: { status: 404, meaning: 'The versioned stream holds no event with this id.' },
  RS_ERR_REQUEST_TIMEOUT: { status: 408, meaning: 'The headers did not arrive within `--headers-timeout`, or the whole request within `--body-timeout`; the connection is closed.' },
  RS_ERR_CONFLICT: { status: 409, meaning: 'The expected version of a ring-store stream did not match (`expected`, `actual`); nothing stored.' },
  RS_ERR_STORE_VERSION_MISMATCH: { status: 409, meaning: 'The expected version of a versioned stream did not match (`expected`, `actual`); nothing written.' },
  RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID: { status: 409, meaning: 'A versioned append carried an event id the stream holds (`idempotencyId`, `existingVersion`); nothing written.' },
  RS_ERR_STORE_SESSION_EXPIRED: { status: 410, meaning: 'The session lease expired; open a new session (renew earlier).' },
  RS_ERR_STORE_INVALID_SESSION: { status: 410, meaning: 'Another session took the stream over after this one expired.' },
  RS_ERR_BODY_TOO_LARGE: { status: 413, meaning: 'The body exceeds the body limit (`--body-limit`) or the batch exceeds `--max-batch`.' },
  RS_ERR_EVENT_TOO_LARGE: { status: 413, meaning: 'One encoded event exceeds the store\'s maximum event size.' },
  RS_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The body\'s content type is not JSON (or NDJSON where accepted), or its charset is not UTF-8.' },
  RS_ERR_STORE_OPEN_FAILED: { status: 423, meaning: 'The versioned stream is held by another live session (waited `openTimeoutMs`).' },
  RS_ERR_HEADERS_TOO_LARGE: { status: 431, meaning: 'The request line and headers exceed 16 KiB; the connection is closed.' },
  RS_ERR_DISK_FULL: { status: 507, meaning: 'The data directory\'s disk is full: the append was not stored (reads go on); retry once space is freed.' },
  RS_ERR_INTERNAL: { status: 500, meaning: 'An unexpected server error (a bug: please report it with the request id).' },
  RS_ERR_WORKER: { status: 503, meaning: 'A partition worker failed while serving the request (it restarts); retry.' },
  RS_ERR_STORE_BACKEND: { status: 503, meaning: 'The versioned streams backend failed (I/O, disk full); retry later.' },
  RS_ERR_TOO_MANY_PRODUCERS: { status: 503, meaning: 'The store has no free producer slot; retry.' },
  RS_ERR_IO: { status: 503, meaning: 'A ring store\'s log failed with an I/O error: the append was not stored; the partition refuses writes until the daemon restarts.' },
  RS_ERR_REPLICATION: { status: 503, meaning: 'With `--nats`: JetStream did not acknowledge a ring-store append (or this daemon did not apply it) in time; its outcome is unknown: retry with the same idempotency id.' },
  RS_ERR_NOT_READY: { status: 503, meaning: 'The daemon is restoring its durable stores (`--data-dir`) or catching up with its JetStream logs (`--nats`); retry when `GET /ready` answers 200.' },
  RS_ERR_CLOSED: { status: 503, meaning: 'The daemon is shutting down (stores closing); retry against another instance.' },
  RS_ERR_TOO_MANY_CONNECTIONS: { status: 503, meaning: 'The daemon holds `--max-connections` open connections; this one is closed. Retry later.' },
} as const;

/** A code of {@link HttpErrorCodes}. */
export type HttpErrorCode = keyof typeof HttpErrorCodes;

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

/** Details safe to echo (numbers, strings, booleans only: never stacks or causes). */
function safeDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (details === undefined) return out;
  for (const [k, v] of Object.entries(details)) {
    if (k === 'code' || k === 'message') continue;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[k] = v;
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
