/**
 * The options of {@link RingstoreClient} and their checks: every option is
 * validated once, in the constructor, so a mistake shows where it is made.
 */
import { isHeaderValue } from './args.js';
import { InvalidClientOptionError } from './errors.js';
import { MAX_TIMER_MS } from './retry-after.js';
import { DEFAULT_MAX_SSE_MESSAGE_BYTES } from './sse.js';
import { keySet, unknownKey } from '../known-keys.js';
import type { TimeInput, TimeRange } from './types.js';

/** Options of {@link RingstoreClient}. */
export interface RingstoreClientOptions {
  /** Daemon URL (default `http://127.0.0.1:7070`). */
  baseUrl?: string;
  /** Bearer token for writes and admin routes. */
  token?: string;
  /** Retries of idempotent requests (default 3; 0 disables). */
  retries?: number;
  /** First backoff delay in ms, doubled per retry, with jitter (default 50). */
  retryBaseMs?: number;
  /** Per-request timeout in ms (default 30,000). Subscriptions have none. */
  timeoutMs?: number;
  /**
   * The longest wait before a retry, in ms (default 30,000; an integer in [0, 2^31-1]). A 429/503 whose
   * `Retry-After` asks for longer is not retried: the call fails at once with the server's error, its
   * `details.retryAfterMs` the wait asked. The client's own backoff is capped by it too.
   */
  maxRetryDelayMs?: number;
  /**
   * The largest message of a subscription, in bytes (default 1 MiB = 1,048,576; a positive integer): the
   * bytes of its lines, line endings not counted. A larger one, or a line that grows past it before its end,
   * ends the subscription with `ResponseTooLargeError` (`RS_ERR_RESPONSE_TOO_LARGE`).
   */
  maxSseMessageBytes?: number;
  /** A fetch implementation (default the global fetch). */
  fetch?: typeof fetch;
}

/** The options with their defaults, checked. */
export interface ResolvedClientOptions {
  /** Without a trailing slash. */
  baseUrl: string;
  token: string | undefined;
  retries: number;
  retryBaseMs: number;
  timeoutMs: number;
  maxRetryDelayMs: number;
  maxSseMessageBytes: number;
  fetch: typeof fetch;
}

/**
 * Throws {@link InvalidClientOptionError} for a key of a call's options that is not one: a misspelt
 * `expectedVersion` would otherwise be dropped before the request, and the write sent unconditionally.
 */
export function checkCallOptions(call: string, options: object, known: ReadonlySet<string>): void {
  if (options === null || typeof options !== 'object') throw new InvalidClientOptionError(`${call}: options must be an object`, { option: 'options' });
  const k = unknownKey(options, known);
  if (k !== undefined) throw new InvalidClientOptionError(`${call}: options.${k} is not an option (known: ${[...known].join(', ')})`, { option: k });
}

// The options of the other calls: a misspelt one is refused (`olderthan` purged with the default cutoff).
export const RANGE_OPTIONS = keySet<TimeRange>({ from: 1, to: 1 });
export const WINDOW_OPTIONS = keySet<TimeRange & { label?: string }>({ from: 1, to: 1, label: 1 });
export const PURGE_OPTIONS = keySet<PurgeOptions>({ olderThan: 1, olderThanMinutes: 1 });
export const PAGE_OPTIONS = keySet<PageOptions>({ from: 1, limit: 1, signal: 1 });
export const READ_OPTIONS = keySet<ReadOptions>({ from: 1, pageSize: 1, signal: 1 });
export const AGGREGATE_OPTIONS = keySet<AggregateOptions>({ sum: 1, groupBy: 1 });
export const SUBSCRIBE_OPTIONS = keySet<SubscribeOptions>({ from: 1, signal: 1, reconnect: 1 });
export const OPEN_SESSION_OPTIONS = keySet<{ sessionTimeoutMs?: number; openTimeoutMs?: number }>({ sessionTimeoutMs: 1, openTimeoutMs: 1 });
export type PurgeOptions = { olderThan?: TimeInput; olderThanMinutes?: number };
export type PageOptions = { from?: number; limit?: number; signal?: AbortSignal };
export type ReadOptions = { from?: number; pageSize?: number; signal?: AbortSignal };
export type AggregateOptions = { sum?: string; groupBy?: string };
export type SubscribeOptions = { from?: number; signal?: AbortSignal; reconnect?: boolean };

const CLIENT_OPTIONS = keySet<RingstoreClientOptions>({ baseUrl: 1, token: 1, retries: 1, retryBaseMs: 1, timeoutMs: 1, maxRetryDelayMs: 1, maxSseMessageBytes: 1, fetch: 1 });

/**
 * Checks `options` and fills in the defaults. The first options throw
 * `TypeError`/`RangeError` (as they always have); the bounds added since throw
 * {@link InvalidClientOptionError} (`RS_ERR_INVALID_OPTION`).
 */
export function resolveClientOptions(options: RingstoreClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== 'object') throw new InvalidClientOptionError('options must be an object', { option: 'options' });
  // A misspelt option (`timeout`, `baseURL`) would otherwise be ignored and its default used.
  const k = unknownKey(options, CLIENT_OPTIONS);
  if (k !== undefined) throw new InvalidClientOptionError(`options.${k} is not an option (known: ${[...CLIENT_OPTIONS].join(', ')})`, { option: k });
  const base = options.baseUrl ?? 'http://127.0.0.1:7070';
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TypeError(`options.baseUrl is not a URL: ${base}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('options.baseUrl must be http(s)');
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0 || retries > 20) throw new RangeError('options.retries must be an integer in [0, 20]');
  const retryBaseMs = options.retryBaseMs ?? 50;
  if (!Number.isFinite(retryBaseMs) || retryBaseMs < 0) throw new RangeError('options.retryBaseMs must be a non-negative number');
  const timeoutMs = options.timeoutMs ?? 30_000;
  // At most the longest timer Node keeps: a longer one fired after 1 ms, and every request timed out at once.
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS) throw new RangeError(`options.timeoutMs must be a positive number up to ${MAX_TIMER_MS}`);
  if (options.token !== undefined && !isHeaderValue(options.token)) {
    // A token fetch cannot send failed every request as a "network error"; a number was sent as "Bearer 5".
    throw new InvalidClientOptionError('options.token must be a non-empty string a header can carry (Latin-1, no control characters, no space at either end)', { option: 'token' });
  }
  // Only undefined takes the default: null or a string is a mistake worth hearing of.
  const maxRetryDelayMs = options.maxRetryDelayMs === undefined ? 30_000 : options.maxRetryDelayMs;
  if (!Number.isInteger(maxRetryDelayMs) || maxRetryDelayMs < 0 || maxRetryDelayMs > MAX_TIMER_MS) {
    // The upper bound is the longest timer Node keeps: a longer one would fire at once.
    throw new InvalidClientOptionError(`options.maxRetryDelayMs must be an integer in [0, ${MAX_TIMER_MS}] (ms), got ${String(maxRetryDelayMs)}`, { option: 'maxRetryDelayMs' });
  }
  const maxSseMessageBytes = options.maxSseMessageBytes === undefined ? DEFAULT_MAX_SSE_MESSAGE_BYTES : options.maxSseMessageBytes;
  if (!Number.isSafeInteger(maxSseMessageBytes) || maxSseMessageBytes < 1) {
    throw new InvalidClientOptionError(`options.maxSseMessageBytes must be a positive integer (bytes), got ${String(maxSseMessageBytes)}`, { option: 'maxSseMessageBytes' });
  }
  return {
    baseUrl: url.href.replace(/\/+$/, ''),
    token: options.token,
    retries,
    retryBaseMs,
    timeoutMs,
    maxRetryDelayMs,
    maxSseMessageBytes,
    fetch: options.fetch ?? globalThis.fetch,
  };
}
