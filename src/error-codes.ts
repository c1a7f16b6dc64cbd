/**
 * The one table of ringstore's error codes. Every other table is derived from
 * it: `ErrorCodes` (the embedded store, `src/errors.ts`), `StreamErrorCodes`
 * (`ringstore/streams`), `HttpErrorCodes` (the daemon's statuses) and the
 * codes the client knows. A code is added here, once, with:
 * - `by`: who raises it (`store`: the embedded ring store and its durability;
 *   `streams`: the versioned streams; `daemon`: only the HTTP server;
 *   `client`: the HTTP client, on its own: no answer came, an answer was
 *   beyond its bounds, or one of its options is invalid);
 * - `meaning`: what it means to a library caller;
 * - `http`: when the daemon can answer with it, its one status and what it
 *   means to an HTTP caller (listed in docs/daemon.md, a test keeps the two equal).
 */

/** Who raises a code. */
export type ErrorSource = 'store' | 'streams' | 'daemon' | 'client';

/** One row of {@link ERROR_CODES}. */
export interface ErrorCodeSpec {
  readonly by: readonly ErrorSource[];
  readonly meaning: string;
  readonly http?: { readonly status: number; readonly meaning: string };
}

/** Every code, with who raises it, its meaning and (if the daemon sends it) its HTTP status. */
export const ERROR_CODES = {
  // The embedded store (and the versioned streams, for the first three).
  RS_ERR_INVALID_OPTION: {
    by: ['store', 'streams', 'client'],
    meaning: 'An option given to a constructor, builder, provider, backend, client or open() is invalid, or so is the lease timeout given to renew() (bounded as in open()).',
    http: { status: 400, meaning: 'A session option is invalid.' },
  },
  RS_ERR_INVALID_ARGUMENT: {
    by: ['store', 'streams'],
    meaning: 'An argument given to a method is invalid (bad id, bad version or bounds, non-JSON data...).',
    http: { status: 400, meaning: 'An argument was rejected by the store (an id twice in one batch, bad version bounds, a malformed stream id…).' },
  },
  RS_ERR_CLOSED: {
    by: ['store', 'streams'],
    meaning: 'The store or stream provider is closed, or was closed while the operation was pending.',
    http: { status: 503, meaning: 'The daemon is shutting down; retry against another instance.' },
  },
  RS_ERR_ENCODE: {
    by: ['store'],
    meaning: 'An event could not be encoded (not JSON-serialisable, or a selector failed).',
    http: { status: 400, meaning: 'An event could not be encoded.' },
  },
  RS_ERR_NON_FINITE: {
    by: ['store'],
    meaning: 'A declared numeric value or timestamp is not a finite number.',
    http: { status: 400, meaning: 'A numeric value or timestamp is not finite.' },
  },
  RS_ERR_EVENT_TOO_LARGE: {
    by: ['store'],
    meaning: 'An encoded event is larger than the partition can hold.',
    http: { status: 413, meaning: 'One encoded event exceeds the store\'s maximum event size (64 KiB by default).' },
  },
  RS_ERR_CONFLICT: {
    by: ['store'],
    meaning: 'The expected version of a key did not match its actual version.',
    http: { status: 409, meaning: 'Expected version of a `/streams` stream did not match; `expected`, `actual`, `key`. Nothing stored.' },
  },
  RS_ERR_UNKNOWN_VALUE: {
    by: ['store'],
    meaning: 'A query named a value that was not declared with `values`.',
    http: { status: 400, meaning: 'A query named a value the store does not declare.' },
  },
  RS_ERR_WINDOW_DISABLED: {
    by: ['store'],
    meaning: 'A window query was made on a store created without a window.',
    http: { status: 400, meaning: 'A window query on a store without a window.' },
  },
  RS_ERR_WORKER: {
    by: ['store'],
    meaning: 'A partition worker failed while serving a request.',
    http: { status: 503, meaning: 'A partition worker failed while serving the request (it restarts); retry.' },
  },
  RS_ERR_PARTIAL_APPEND: {
    by: ['store'],
    meaning: 'An append of an array stored some of its events and not the others (a partition failed for good, the store closed or a durable log refused a write while the call was in flight); `PartialAppendError` names each stored event and why the others were not.',
    http: { status: 503, meaning: 'Part of a batch was stored and part was not (a partition failed for good, the daemon shut down or its disk filled mid-batch): `stored` lists the events stored (`index`, `position`, `version`), `notStored` the others (`index`, `code`); retry those only, with their ids.' },
  },
  RS_ERR_DESCRIPTOR: {
    by: ['store'],
    meaning: 'A descriptor passed to attach() or reader() is not a ringstore descriptor, or comes from a store of another ringstore build (shared-memory protocol).',
  },
  RS_ERR_TOO_MANY_PRODUCERS: {
    by: ['store'],
    meaning: 'Every producer slot of the store is taken.',
    http: { status: 503, meaning: 'The store has no free producer slot; retry.' },
  },
  RS_ERR_DISK_FULL: {
    by: ['store'],
    meaning: 'A durable write found no space left on the device; nothing of it was kept, and the next write retries.',
    http: { status: 507, meaning: 'The data directory\'s disk is full: the append was not stored (reads go on); retry once space is freed.' },
  },
  RS_ERR_IO: {
    by: ['store'],
    meaning: 'A durable write or sync failed with an I/O error; the log refuses writes until it is reopened.',
    http: { status: 503, meaning: 'A ring store\'s log failed with an I/O error: the append was not stored; that partition refuses writes until the daemon restarts.' },
  },
  RS_ERR_IO_UNKNOWN: {
    by: ['store'],
    meaning: 'A durable log failed to sync an append\'s frame and then to cut the frame off again: the append may or may not have been stored (a reopen may replay it); retry with the same idempotency id. The log refuses writes until it is reopened.',
    http: { status: 503, meaning: 'A ring store\'s log failed with an I/O error while making the append durable, and could not undo it: the append may or may not have been stored; that partition refuses writes until the daemon restarts. Retry then with the same idempotency id (`Idempotency-Key` or event `id`).' },
  },
  RS_ERR_LOG_CORRUPT: {
    by: ['store'],
    meaning: 'A durable log or checkpoint is damaged where a crash cannot explain it; the error names the file and offset.',
  },
  RS_ERR_DATA_DIR_LOCKED: {
    by: ['store'],
    meaning: 'The data directory is in use by another process or thread.',
  },
  RS_ERR_DATA_DIR_MISMATCH: {
    by: ['store'],
    meaning: 'The data directory was created with a different partition count or format version.',
  },

  // The versioned streams.
  RS_ERR_STORE_NOT_OPEN: {
    by: ['streams'],
    meaning: 'An operation was made on a session that was closed (or never opened).',
    http: { status: 404, meaning: 'No open session with this id (never opened, closed, or swept a minute after its lease expired).' },
  },
  RS_ERR_STORE_SESSION_EXPIRED: {
    by: ['streams'],
    meaning: 'The session lease expired before the operation; open a new session or renew() earlier.',
    http: { status: 410, meaning: 'The session\'s lease expired; open a new session (renew earlier).' },
  },
  RS_ERR_STORE_INVALID_SESSION: {
    by: ['streams'],
    meaning: 'Another session took the stream over after this session expired.',
    http: { status: 410, meaning: 'Another session took the stream over after this one expired.' },
  },
  RS_ERR_STORE_OPEN_FAILED: {
    by: ['streams'],
    meaning: 'open() could not obtain the stream lease within openTimeoutMs (or was aborted).',
    http: { status: 423, meaning: 'The versioned stream is held by another live session (the server waited `openTimeoutMs`).' },
  },
  RS_ERR_STORE_VERSION_MISMATCH: {
    by: ['streams'],
    meaning: 'An expected version (per call or per event) did not match the stream version; nothing was written.',
    http: { status: 409, meaning: 'Expected version of a versioned stream did not match; `expected`, `actual`. Nothing written.' },
  },
  RS_ERR_STREAM_VERSION_NOT_FOUND: {
    by: ['streams'],
    meaning: 'A specific event version was requested that the stream does not hold.',
    http: { status: 404, meaning: 'The versioned stream does not hold this version.' },
  },
  RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND: {
    by: ['streams'],
    meaning: 'A snapshot version was named that the snapshot collection does not hold.',
    http: { status: 404, meaning: 'No snapshot at this version.' },
  },
  RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND: {
    by: ['streams'],
    meaning: 'versionOf() was asked for an event id the stream does not hold.',
    http: { status: 404, meaning: 'The versioned stream holds no event with this id.' },
  },
  RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID: {
    by: ['streams'],
    meaning: 'An appended event id is already in the stream; nothing was written.',
    http: { status: 409, meaning: 'A versioned append carried an event id the stream holds; `idempotencyId`, `existingVersion`. Nothing written.' },
  },
  RS_ERR_STORE_BACKEND: {
    by: ['streams'],
    meaning: 'The key-value backend failed; the original error is the `cause`.',
    http: { status: 503, meaning: 'The versioned streams backend failed (I/O, disk full); retry later.' },
  },
  // Backend-level codes: they never escape the session layer, so the daemon never sends them.
  RS_ERR_KV_DUPLICATE_KEY: {
    by: ['streams'],
    meaning: 'Backend: a create-only write found the key already present.',
  },
  RS_ERR_KV_KEY_NOT_FOUND: {
    by: ['streams'],
    meaning: 'Backend: get() or an update named a key that does not exist.',
  },
  RS_ERR_KV_CONCURRENCY: {
    by: ['streams'],
    meaning: 'Backend: an etag compare-and-set did not match the stored etag.',
  },

  // The daemon only.
  RS_ERR_BAD_REQUEST: {
    by: ['daemon'],
    meaning: 'The request does not match the route schema (or sends a body to a route that takes none).',
    http: { status: 400, meaning: 'The request does not match the route schema (wrong type, missing field, out of range, unknown query parameter, a body sent to a route that takes none).' },
  },
  RS_ERR_INVALID_JSON: {
    by: ['daemon'],
    meaning: 'The body is not valid JSON.',
    http: { status: 400, meaning: 'The body is not valid JSON (or an NDJSON line is not; the message gives the line).' },
  },
  RS_ERR_UNAUTHORIZED: {
    by: ['daemon'],
    meaning: 'A token is required and the request has none.',
    http: { status: 401, meaning: 'A token is configured and the request has no `Authorization: Bearer` header.' },
  },
  RS_ERR_FORBIDDEN: {
    by: ['daemon'],
    meaning: 'The bearer token is wrong.',
    http: { status: 403, meaning: 'The bearer token is wrong.' },
  },
  RS_ERR_NOT_FOUND: {
    by: ['daemon'],
    meaning: 'No such route.',
    http: { status: 404, meaning: 'No such route (or method).' },
  },
  RS_ERR_REQUEST_TIMEOUT: {
    by: ['daemon'],
    meaning: 'The request did not arrive in time.',
    http: { status: 408, meaning: 'The headers did not arrive within `--headers-timeout`, or the whole request within `--body-timeout`; the connection is closed.' },
  },
  RS_ERR_BODY_TOO_LARGE: {
    by: ['daemon'],
    meaning: 'The body or the batch is too large.',
    http: { status: 413, meaning: 'The body exceeds `--body-limit`, or a batch exceeds `--max-batch`.' },
  },
  RS_ERR_UNSUPPORTED_MEDIA_TYPE: {
    by: ['daemon'],
    meaning: 'The body\'s content type, charset or content encoding is not accepted (bodies are uncompressed UTF-8 JSON or NDJSON).',
    http: { status: 415, meaning: 'The content type is not JSON (or NDJSON where accepted), or its `charset` is not UTF-8, or the body is compressed (`Content-Encoding` other than `identity`).' },
  },
  RS_ERR_HEADERS_TOO_LARGE: {
    by: ['daemon'],
    meaning: 'The request line and headers are too large.',
    http: { status: 431, meaning: 'The request line and headers exceed 16 KiB; the connection is closed.' },
  },
  RS_ERR_INTERNAL: {
    by: ['daemon'],
    meaning: 'An unexpected server error (a bug).',
    http: { status: 500, meaning: 'An unexpected server error: a bug. Report it with the request id.' },
  },
  RS_ERR_NOT_READY: {
    by: ['daemon'],
    meaning: 'The daemon is restoring its durable stores or catching up with its JetStream logs.',
    http: { status: 503, meaning: 'The daemon is restoring its durable stores (`--data-dir`) or catching up with its JetStream logs (`--nats`); retry when `GET /ready` answers 200.' },
  },
  RS_ERR_REPLICATION: {
    by: ['daemon'],
    meaning: 'With `--nats`, JetStream did not acknowledge a ring-store append, or this daemon did not apply it, in time.',
    http: { status: 503, meaning: 'With `--nats`: JetStream did not acknowledge a ring-store append within 30 s, or this daemon did not apply it within 30 s of the acknowledgement; its outcome is unknown: retry with the same idempotency id (`Idempotency-Key` or event `id`).' },
  },
  RS_ERR_REPLICATION_GAP: {
    by: ['daemon'],
    meaning: 'With `--nats`, a ring-store log no longer holds messages this daemon needs and no shared checkpoint covers them, so its ring stores would differ from the other daemons: the daemon refuses to start.',
    http: { status: 503, meaning: 'With `--nats`: this daemon fell behind a ring-store log by more than the log keeps, so its ring stores may differ from the other daemons; `GET /ready` answers it from then on. Restart the daemon: it loads the newest shared checkpoint.' },
  },
  RS_ERR_TOO_MANY_CONNECTIONS: {
    by: ['daemon'],
    meaning: 'The daemon holds its maximum of open connections.',
    http: { status: 503, meaning: 'The daemon holds `--max-connections` open connections; this one is closed. Retry later.' },
  },

  // The client only: no HTTP answer came, or one beyond the client's bounds.
  RS_ERR_NETWORK: {
    by: ['client'],
    meaning: 'The request got no HTTP answer (connection refused or reset).',
  },
  RS_ERR_TIMEOUT: {
    by: ['client'],
    meaning: 'The request got no answer within the client\'s timeout.',
  },
  RS_ERR_RESPONSE_TOO_LARGE: {
    by: ['client'],
    meaning: 'An answer was larger than the client takes: a subscription message (or one of its lines) exceeded maxSseMessageBytes; the subscription ended.',
  },
} as const satisfies Record<`RS_ERR_${string}`, ErrorCodeSpec>;

type Table = typeof ERROR_CODES;

/** Every code ringstore uses: the type of `RingstoreError.code`. */
export type ErrorCode = keyof Table;

/** The codes raised by `source`. */
export type ErrorCodeOf<S extends ErrorSource> = { [K in ErrorCode]: S extends Table[K]['by'][number] ? K : never }[ErrorCode];

/** The codes the daemon can answer with. */
export type HttpErrorCode = { [K in ErrorCode]: Table[K] extends { http: unknown } ? K : never }[ErrorCode];

const ALL = Object.keys(ERROR_CODES) as ErrorCode[];

/** `{ code: meaning }` for the codes raised by `source`, frozen. */
export function meaningsOf<S extends ErrorSource>(source: S): { readonly [K in ErrorCodeOf<S>]: string } {
  const out: Record<string, string> = {};
  for (const code of ALL) {
    const spec: ErrorCodeSpec = ERROR_CODES[code];
    if (spec.by.includes(source)) out[code] = spec.meaning;
  }
  return Object.freeze(out) as { readonly [K in ErrorCodeOf<S>]: string };
}

/** `{ code: { status, meaning } }` for the codes the daemon can answer with, frozen. */
export function httpStatuses(): { readonly [K in HttpErrorCode]: { readonly status: number; readonly meaning: string } } {
  const out: Record<string, { status: number; meaning: string }> = {};
  for (const code of ALL) {
    const http = (ERROR_CODES[code] as ErrorCodeSpec).http;
    if (http !== undefined) out[code] = Object.freeze({ status: http.status, meaning: http.meaning });
  }
  return Object.freeze(out) as { readonly [K in HttpErrorCode]: { readonly status: number; readonly meaning: string } };
}

/** True when `code` is a code of {@link ERROR_CODES}. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
