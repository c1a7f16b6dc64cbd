/**
 * Typed errors of {@link RingstoreClient}. Every error the daemon answers with
 * becomes a {@link RingstoreHttpError} carrying the server's `code` (the
 * `RS_ERR_*` codes of docs/daemon.md), the HTTP `status` and the details; the
 * common cases have subclasses. Match on `code`.
 */
import { httpStatuses, type HttpErrorCode } from '../error-codes.js';
import { RingstoreError } from '../errors.js';

/** The codes the daemon can answer with (the same table the daemon's statuses come from). */
const DAEMON_CODES = httpStatuses();

/** An error response of the daemon. */
export class RingstoreHttpError extends RingstoreError {
  /** The daemon's code (one of `HttpErrorCodes` in `ringstore/server`, listed in docs/daemon.md). */
  declare readonly code: HttpErrorCode;
  /** HTTP status. */
  readonly status: number;
  /** The daemon's request id (`x-request-id`), for its logs. */
  readonly requestId: string | undefined;
  constructor(code: HttpErrorCode, message: string, status: number, details?: Record<string, unknown>, requestId?: string) {
    super(code, message, details);
    this.name = 'RingstoreHttpError';
    this.status = status;
    this.requestId = requestId;
  }
}

/** 401 `RS_ERR_UNAUTHORIZED` or 403 `RS_ERR_FORBIDDEN`: the token is missing or wrong. */
export class AuthError extends RingstoreHttpError {
  constructor(code: HttpErrorCode, message: string, status: number, details?: Record<string, unknown>, requestId?: string) {
    super(code, message, status, details, requestId);
    this.name = 'AuthError';
  }
}

/** 404: no such route, session, version, snapshot or id. */
export class NotFoundError extends RingstoreHttpError {
  constructor(code: HttpErrorCode, message: string, status: number, details?: Record<string, unknown>, requestId?: string) {
    super(code, message, status, details, requestId);
    this.name = 'NotFoundError';
  }
}

/**
 * 409 on an expected version: `RS_ERR_CONFLICT` (ring-store stream) or
 * `RS_ERR_STORE_VERSION_MISMATCH` (versioned stream). Nothing was stored.
 */
export class VersionConflictError extends RingstoreHttpError {
  /** The version the request expected. */
  readonly expected: number;
  /** The stream's actual version. */
  readonly actual: number;
  constructor(code: HttpErrorCode, message: string, status: number, details: Record<string, unknown> | undefined, requestId?: string) {
    super(code, message, status, details, requestId);
    this.name = 'VersionConflictError';
    this.expected = Number(details?.expected);
    this.actual = Number(details?.actual);
  }
}

/** 410: the versioned-stream session expired or was taken over; open a new one. */
export class SessionGoneError extends RingstoreHttpError {
  constructor(code: HttpErrorCode, message: string, status: number, details?: Record<string, unknown>, requestId?: string) {
    super(code, message, status, details, requestId);
    this.name = 'SessionGoneError';
  }
}

/** The request never got an HTTP answer (connection refused or reset, timeout): `RS_ERR_NETWORK` / `RS_ERR_TIMEOUT`. */
export class NetworkError extends RingstoreError {
  constructor(code: 'RS_ERR_NETWORK' | 'RS_ERR_TIMEOUT', message: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
    this.name = 'NetworkError';
  }
}

/** An option of {@link RingstoreClient} is invalid: `RS_ERR_INVALID_OPTION`, thrown by the constructor. */
export class InvalidClientOptionError extends RingstoreError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('RS_ERR_INVALID_OPTION', message, details);
    this.name = 'InvalidClientOptionError';
  }
}

/**
 * An answer was larger than the client takes: a message of a subscription (or a
 * line of it whose end had not come) exceeded `maxSseMessageBytes`. The
 * subscription ends (it is not reconnected: the daemon would send the same message again).
 * `RS_ERR_RESPONSE_TOO_LARGE`; `limit` (also in `details`) is the bound in bytes.
 */
export class ResponseTooLargeError extends RingstoreError {
  /** The bound that was exceeded, in bytes. */
  readonly limit: number;
  constructor(limit: number, message = `the response is larger than the client's limit of ${limit} bytes`) {
    super('RS_ERR_RESPONSE_TOO_LARGE', message, { limit });
    this.name = 'ResponseTooLargeError';
    this.limit = limit;
  }
}

/**
 * Builds the typed error of an error response. A body without a code (a proxy's
 * 502 page) or with a code this client does not know (a newer daemon) gets
 * `RS_ERR_INTERNAL` (5xx) or `RS_ERR_BAD_REQUEST`; an unknown code is kept as `details.serverCode`.
 */
export function errorFromResponse(status: number, body: unknown, requestId: string | undefined): RingstoreHttpError {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const sent = typeof e?.code === 'string' ? e.code : undefined;
  const code: HttpErrorCode = sent !== undefined && Object.hasOwn(DAEMON_CODES, sent) ? (sent as HttpErrorCode) : status >= 500 ? 'RS_ERR_INTERNAL' : 'RS_ERR_BAD_REQUEST';
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${status}`;
  const details: Record<string, unknown> = {};
  if (e !== undefined && e !== null && typeof e === 'object') for (const [k, v] of Object.entries(e)) if (k !== 'code' && k !== 'message') details[k] = v;
  if (sent !== undefined && sent !== code) details.serverCode = sent;
  if (code === 'RS_ERR_CONFLICT' || code === 'RS_ERR_STORE_VERSION_MISMATCH') return new VersionConflictError(code, message, status, details, requestId);
  if (status === 401 || status === 403) return new AuthError(code, message, status, details, requestId);
  if (status === 404) return new NotFoundError(code, message, status, details, requestId);
  if (status === 410) return new SessionGoneError(code, message, status, details, requestId);
  return new RingstoreHttpError(code, message, status, details, requestId);
}
