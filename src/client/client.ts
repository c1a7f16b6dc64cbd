/**
 * `RingstoreClient`: a typed client of the ringstore daemon on the built-in
 * fetch. Errors are typed ({@link RingstoreHttpError} and subclasses, matching
 * the server's `RS_ERR_*` codes). Only idempotent operations are retried
 * (reads, deletes, admin, and appends that carry idempotency ids), on network
 * errors and 429/502/503/504, with exponential backoff and jitter, and with
 * the server's `Retry-After` up to `maxRetryDelayMs`.
 */
import { InvalidClientOptionError, NetworkError, ResponseTooLargeError, errorFromResponse, RingstoreHttpError } from './errors.js';
import { httpStatuses } from '../error-codes.js';
import { invalidArgument } from '../errors.js';
import { keySet } from '../known-keys.js';
import { checkIdempotencyKey, jsonText, pathSegment, timeParam } from './args.js';
import {
  AGGREGATE_OPTIONS, OPEN_SESSION_OPTIONS, PAGE_OPTIONS, PURGE_OPTIONS, RANGE_OPTIONS, READ_OPTIONS, SUBSCRIBE_OPTIONS, WINDOW_OPTIONS,
  checkCallOptions, resolveClientOptions, type AggregateOptions, type PageOptions, type PurgeOptions, type ReadOptions, type RingstoreClientOptions, type SubscribeOptions,
} from './options.js';
import { retryAfterMs, retryWaitMs, sleep } from './retry-after.js';
import { RemoteStreamSession, type OpenSessionOptions } from './session.js';
import { parseSse } from './sse.js';
import type { Aggregate, AppendResult, MetricEvent, StreamAggregate, StreamItem, StreamPage, TimeInput, TimeRange } from './types.js';

export type { RingstoreClientOptions } from './options.js';

/** Every code the daemon answers with, and its status. */
const DAEMON_CODES = httpStatuses();

/** Options of {@link RingstoreClient.append}. */
export interface AppendOptions {
  /** The stream's version before this append (0 = new stream); a mismatch throws `VersionConflictError`. */
  expectedVersion?: number;
  /** Retry key: a retry returns the original result and stores nothing twice (a batch's event i gets `<key>:<i>`). */
  idempotencyKey?: string;
  /** Body format of a batch: a JSON array (default) or NDJSON. */
  format?: 'json' | 'ndjson';
  signal?: AbortSignal;
}

const APPEND_OPTIONS = keySet<AppendOptions>({ expectedVersion: 1, idempotencyKey: 1, format: 1, signal: 1 });
/** `range` checked for unknown keys, as query parameters. */
function rangeQuery(call: string, range: TimeRange, known = RANGE_OPTIONS): { from: string | undefined; to: string | undefined } {
  checkCallOptions(call, range, known);
  return { from: timeParam(range.from, 'from'), to: timeParam(range.to, 'to') };
}

/** Per-request settings of the internal request helper. */
interface RequestInit2 {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  headers?: Record<string, string>;
  idempotent: boolean;
  signal?: AbortSignal;
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);

/**
 * Encodes a stream name as path segments (slashes kept). A segment `.` or
 * `..` is refused: URLs resolve them away (`%2E%2E` too), so
 * `append('../admin/clear', …)` would have posted to `/admin/clear`. Empty
 * segments are refused as the daemon refuses them.
 * @throws RingstoreError `RS_ERR_INVALID_ARGUMENT`
 */
export function streamPath(stream: string): string {
  if (typeof stream !== 'string' || stream.length === 0) throw invalidArgument('stream must be a non-empty string');
  const segments = stream.split('/');
  for (const s of segments) {
    if (s === '') throw invalidArgument(`stream "${stream.slice(0, 64)}" has an empty segment`);
    if (s === '.' || s === '..') throw invalidArgument(`stream "${stream.slice(0, 64)}" has a "${s}" segment, which a URL cannot carry`);
  }
  return segments.map((s) => pathSegment(s, `stream "${stream.slice(0, 64)}"`)).join('/');
}

/**
 * A client of one daemon.
 *
 * @example
 * ```ts
 * const client = new RingstoreClient({ baseUrl: 'http://127.0.0.1:7070' });
 * const r = await client.append('gateway/orders', { id: 'o-1', valor: 10, gatewayId: 'g1' });
 * let total = 0;
 * for await (const e of client.read('gateway/orders')) total += e.valor;
 * ```
 */
export class RingstoreClient {
  /** The daemon URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #retries: number;
  readonly #retryBaseMs: number;
  readonly #timeoutMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #maxSseMessageBytes: number;
  readonly #fetch: typeof fetch;

  /** The reference's `/metrics/*` routes. */
  readonly metrics: {
    /** `POST /metrics` (one event or a batch). Not retried (no idempotency on metrics). */
    append(events: MetricEvent | readonly MetricEvent[]): Promise<void>;
    /** `GET /metrics/sum`: sum of value for a label. */
    sum(label: string, range?: TimeRange): Promise<number>;
    /** `GET /metrics/sum-window`: sum over the last `minutes` (default 10). */
    sumWindow(label: string, minutes?: number): Promise<number>;
    /** `GET /metrics/window`. */
    window(options?: TimeRange & { label?: string }): Promise<Aggregate & { window: { from: string | null; to: string | null; label: string | null } }>;
    /** `GET /metrics/top`: the k labels with the greatest sums. */
    top(k: number, range?: TimeRange): Promise<{ key: string; value: number }[]>;
    /** `GET /metrics/snapshot-views`. */
    snapshotViews(): Promise<{ partitions: number; totalEvents: number; views: { segmentCount: number; totalCount: number; hasWrapAround: boolean; isEmpty: boolean }[] }>;
    /** `GET /metrics/aggregate-zero-alloc`. */
    aggregate(range?: TimeRange): Promise<Aggregate>;
    /** `GET /metrics/process-events`. */
    processEvents(label?: string): Promise<{ processed: number; highCpuCount: number }>;
  };

  /** `POST /admin/*` (need the token when the daemon has one). */
  readonly admin: {
    clear(): Promise<{ cleared: boolean; removed: number }>;
    reset(): Promise<{ reset: boolean; removed: number }>;
    /** Removes events older than `olderThan` (default: `olderThanMinutes`, default 60, ago). */
    purge(options?: PurgeOptions): Promise<{ purgedBefore: string; purged: number }>;
  };

  constructor(options: RingstoreClientOptions = {}) {
    const o = resolveClientOptions(options);
    this.baseUrl = o.baseUrl;
    this.#token = o.token;
    this.#retries = o.retries;
    this.#retryBaseMs = o.retryBaseMs;
    this.#timeoutMs = o.timeoutMs;
    this.#maxRetryDelayMs = o.maxRetryDelayMs;
    this.#maxSseMessageBytes = o.maxSseMessageBytes;
    this.#fetch = o.fetch;

    const get = <T>(path: string, query?: RequestInit2['query']): Promise<T> => this.request<T>('GET', path, { idempotent: true, ...(query ? { query } : {}) }).then((r) => r.data);
    this.metrics = {
      append: async (events) => {
        const many = Array.isArray(events);
        const list = (many ? events : [events]) as MetricEvent[];
        const body = list.map((e) => (e?.timestamp instanceof Date ? { ...e, timestamp: timeParam(e.timestamp, 'timestamp') } : e));
        await this.request('POST', '/metrics', { body: many ? body : body[0], idempotent: false });
      },
      sum: (label, range = {}) => get('/metrics/sum', { label, ...rangeQuery('metrics.sum', range) }),
      sumWindow: (label, minutes) => get('/metrics/sum-window', { label, minutes }),
      window: (o = {}) => get('/metrics/window', { ...rangeQuery('metrics.window', o, WINDOW_OPTIONS), label: o.label }),
      top: (k, range = {}) => get('/metrics/top', { k, ...rangeQuery('metrics.top', range) }),
      snapshotViews: () => get('/metrics/snapshot-views'),
      aggregate: (range = {}) => get('/metrics/aggregate-zero-alloc', rangeQuery('metrics.aggregate', range)),
      processEvents: (label) => get('/metrics/process-events', { label }),
    };
    this.admin = {
      clear: () => this.request<{ cleared: boolean; removed: number }>('POST', '/admin/clear', { idempotent: true }).then((r) => r.data),
      reset: () => this.request<{ reset: boolean; removed: number }>('POST', '/admin/reset', { idempotent: true }).then((r) => r.data),
      purge: async (o = {}) => {
        checkCallOptions('admin.purge', o, PURGE_OPTIONS);
        return (await this.request<{ purgedBefore: string; purged: number }>('POST', '/admin/purge', {
          // An explicit cutoff is idempotent; a relative one moves with time.
          idempotent: o.olderThan !== undefined,
          query: { olderThan: timeParam(o.olderThan, 'olderThan'), olderThanMinutes: o.olderThanMinutes },
        })).data;
      },
    };
  }

  /**
   * Sends one request; retries idempotent ones on network errors and
   * 429/502/503/504. Throws the typed error of an error response.
   * @internal Exposed for {@link RemoteStreamSession}.
   */
  async request<T>(method: string, path: string, init: RequestInit2): Promise<{ status: number; data: T; headers: Headers }> {
    let url = this.baseUrl + path;
    if (init.query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(init.query)) if (v !== undefined) params.set(k, String(v));
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    let body: string | undefined;
    if (init.rawBody !== undefined) {
      body = init.rawBody;
      headers['content-type'] = init.contentType ?? 'application/json';
    } else if (init.body !== undefined) {
      body = jsonText(init.body);
      headers['content-type'] = 'application/json';
    }
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    const attempts = init.idempotent ? this.#retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      const signals = [AbortSignal.timeout(this.#timeoutMs), ...(init.signal ? [init.signal] : [])];
      let res: Response;
      let text: string;
      try {
        res = await this.#fetch(url, { method, headers, body, signal: AbortSignal.any(signals) });
        // The body too: a timeout or a reset while it arrives is a network error (and retried when idempotent).
        text = await res.text();
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason ?? err;
        const timedOut = (err as { name?: string }).name === 'TimeoutError';
        if (attempt < attempts) {
          await this.backoff(attempt, undefined, init.signal);
          if (init.signal?.aborted) throw init.signal.reason;
          continue;
        }
        throw new NetworkError(timedOut ? 'RS_ERR_TIMEOUT' : 'RS_ERR_NETWORK', `${method} ${path}: ${timedOut ? `no answer within ${this.#timeoutMs} ms` : (err as Error).message}`, { cause: err });
      }
      let data: unknown = undefined;
      if (text.length > 0) {
        const type = res.headers.get('content-type') ?? '';
        if (type.includes('json')) {
          try {
            data = JSON.parse(text);
          } catch {
            data = text;
          }
        } else data = text;
      }
      if (res.ok) return { status: res.status, data: data as T, headers: res.headers };
      const err = errorFromResponse(res.status, data, res.headers.get('x-request-id') ?? undefined);
      if (attempt < attempts && RETRY_STATUS.has(res.status)) {
        await this.backoff(attempt, this.askedWait(res, err), init.signal);
        if (init.signal?.aborted) throw init.signal.reason;
        continue;
      }
      throw err;
    }
  }

  /**
   * The wait a retryable answer's `Retry-After` asks for (undefined: none, or unparsable, or past). When it
   * is longer than `maxRetryDelayMs`, throws `err` (the server's error, with `details.retryAfterMs`) instead:
   * sleeping for hours inside a call helps nobody, and the caller learns when to come back.
   */
  private askedWait(res: Response, err: RingstoreHttpError): number | undefined {
    const asked = retryAfterMs(res.headers.get('retry-after'));
    if (asked !== undefined && asked > this.#maxRetryDelayMs) {
      if (err.details !== undefined) err.details.retryAfterMs = asked;
      throw err;
    }
    return asked;
  }

  /** Waits before retry `attempt` (`askedMs`: the server's ask, within the bound); ends early when `signal` aborts. */
  private backoff(attempt: number, askedMs: number | undefined, signal?: AbortSignal): Promise<void> {
    return sleep(retryWaitMs(attempt, askedMs, { baseMs: this.#retryBaseMs, maxMs: this.#maxRetryDelayMs }), signal);
  }

  /** `GET /health`: `"OK"`. */
  async health(): Promise<string> {
    return (await this.request<string>('GET', '/health', { idempotent: true })).data;
  }

  /** `GET /ready`: true when ready, false while shutting down (503). */
  async ready(): Promise<boolean> {
    try {
      return (await this.request<{ ready: boolean }>('GET', '/ready', { idempotent: false })).data.ready === true;
    } catch (err) {
      if (err instanceof RingstoreHttpError && err.status === 503) return false;
      throw err;
    }
  }

  /** `GET /metrics`: the Prometheus exposition text. */
  async prometheus(): Promise<string> {
    return (await this.request<string>('GET', '/metrics', { idempotent: true })).data;
  }

  /** `GET /openapi.json`. */
  async openapi(): Promise<Record<string, unknown>> {
    return (await this.request<Record<string, unknown>>('GET', '/openapi.json', { idempotent: true })).data;
  }

  /**
   * Appends one event (resolves with one result) or a batch (an array of
   * results; all or nothing with `expectedVersion`). Retried only when it is
   * idempotent: an `idempotencyKey`, or every event carries an `id`, and no `expectedVersion`.
   */
  append(stream: string, event: Record<string, unknown>, options?: AppendOptions): Promise<AppendResult>;
  append(stream: string, events: readonly Record<string, unknown>[], options?: AppendOptions): Promise<AppendResult[]>;
  async append(stream: string, input: Record<string, unknown> | readonly Record<string, unknown>[], options: AppendOptions = {}): Promise<AppendResult | AppendResult[]> {
    checkCallOptions('append', options, APPEND_OPTIONS);
    if (options.idempotencyKey !== undefined) checkIdempotencyKey(options.idempotencyKey);
    if (options.format !== undefined && options.format !== 'json' && options.format !== 'ndjson') {
      throw new InvalidClientOptionError(`append: options.format must be 'json' or 'ndjson', got ${String(options.format)}`, { option: 'format' });
    }
    const batch = Array.isArray(input);
    const events = (batch ? input : [input]) as readonly Record<string, unknown>[];
    // Not with an expected version: the daemon checks it before the ids, so a retry of an append that was
    // stored (its answer lost) would report a version conflict for it; the caller gets the NetworkError instead.
    const idempotent = options.expectedVersion === undefined && (options.idempotencyKey !== undefined || events.every((e) => typeof e?.id === 'string'));
    const headers: Record<string, string> = {};
    if (options.expectedVersion !== undefined) headers['expected-version'] = String(options.expectedVersion);
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    const init: RequestInit2 = { headers, idempotent, ...(options.signal ? { signal: options.signal } : {}) };
    if (batch && options.format === 'ndjson') {
      init.rawBody = events.map((e) => jsonText(e)).join('\n') + '\n';
      init.contentType = 'application/x-ndjson';
    } else init.body = input;
    return (await this.request<AppendResult | AppendResult[]>('POST', `/streams/${streamPath(stream)}`, init)).data;
  }

  /** One page of a stream from version `from` (default: the oldest held), at most `limit` events. */
  async readPage(stream: string, options: PageOptions = {}): Promise<StreamPage> {
    checkCallOptions('readPage', options, PAGE_OPTIONS);
    const r = await this.request<StreamItem[]>('GET', `/streams/${streamPath(stream)}`, {
      idempotent: true,
      query: { from: options.from, limit: options.limit },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const next = r.headers.get('x-next-from');
    return { events: r.data, nextFrom: next === null ? undefined : Number(next) };
  }

  /** Every event of a stream from version `from`, a page (`pageSize`, default 1000) at a time. */
  async *read(stream: string, options: ReadOptions = {}): AsyncGenerator<StreamItem> {
    checkCallOptions('read', options, READ_OPTIONS);
    let from = options.from;
    for (;;) {
      const page = await this.readPage(stream, { ...(from !== undefined ? { from } : {}), limit: options.pageSize ?? 1000, ...(options.signal ? { signal: options.signal } : {}) });
      yield* page.events;
      if (page.nextFrom === undefined) return;
      from = page.nextFrom;
    }
  }

  /** `GET /streams/{stream}?aggregate=true`: totals and groups (defaults `sum=valor`, `groupBy=gatewayId`). */
  async aggregate(stream: string, options: AggregateOptions = {}): Promise<StreamAggregate> {
    checkCallOptions('aggregate', options, AGGREGATE_OPTIONS);
    return (await this.request<StreamAggregate>('GET', `/streams/${streamPath(stream)}`, { idempotent: true, query: { aggregate: true, sum: options.sum, groupBy: options.groupBy } })).data;
  }

  /**
   * Live events of a stream from version `from` (server-sent events). Yields
   * until `signal` aborts; reconnects with `Last-Event-ID` when the connection
   * drops (unless `reconnect: false`, which ends the iteration instead).
   */
  async *subscribe(stream: string, options: SubscribeOptions = {}): AsyncGenerator<StreamItem> {
    checkCallOptions('subscribe', options, SUBSCRIBE_OPTIONS);
    let next = options.from;
    let failures = 0;
    const signal = options.signal;
    while (!signal?.aborted) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
      const url = `${this.baseUrl}/streams/${streamPath(stream)}/subscribe${next !== undefined ? `?from=${next}` : ''}`;
      let res: Response;
      try {
        res = await this.#fetch(url, { headers, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (signal?.aborted) return;
        if (options.reconnect === false || ++failures > this.#retries) throw new NetworkError('RS_ERR_NETWORK', `subscribe ${stream}: ${(err as Error).message}`, { cause: err });
        await this.backoff(failures, undefined, signal);
        continue;
      }
      if (!res.ok || res.body === null) {
        const text = await res.text();
        let data: unknown = text;
        try {
          data = JSON.parse(text);
        } catch { /* not JSON */ }
        const err = errorFromResponse(res.status, data, res.headers.get('x-request-id') ?? undefined);
        if (options.reconnect === false || !RETRY_STATUS.has(res.status) || ++failures > this.#retries) throw err;
        await this.backoff(failures, this.askedWait(res, err), signal);
        continue;
      }
      failures = 0;
      try {
        for await (const m of parseSse(res.body, { maxMessageBytes: this.#maxSseMessageBytes })) {
          if (m.event === 'error') {
            const body = JSON.parse(m.data) as { error?: { code?: unknown } };
            const code = body?.error?.code;
            // The status the code has over HTTP (an unknown code: 500, as errorFromResponse maps it to RS_ERR_INTERNAL).
            const status = typeof code === 'string' && Object.hasOwn(DAEMON_CODES, code) ? DAEMON_CODES[code as keyof typeof DAEMON_CODES].status : 500;
            throw errorFromResponse(status, body, res.headers.get('x-request-id') ?? undefined);
          }
          if (m.event !== 'event') continue;
          const item = JSON.parse(m.data) as StreamItem;
          next = item.version + 1;
          yield item;
        }
      } catch (err) {
        if (signal?.aborted) return;
        // Not reconnected: the daemon's error stands, and a message too large would come again.
        if (err instanceof RingstoreHttpError || err instanceof ResponseTooLargeError || options.reconnect === false) throw err;
      }
      if (options.reconnect === false) return;
      await this.backoff(1, undefined, signal);
    }
  }

  /** Opens a leased session on a versioned stream (`"name/id"` or `{ database?, name, id }`). */
  async openSession(stream: string | { database?: string; name: string; id: string }, options: OpenSessionOptions = {}): Promise<RemoteStreamSession> {
    checkCallOptions('openSession', options, OPEN_SESSION_OPTIONS);
    const r = await this.request<{ sessionId: string; storeId: string; version: number; expiresAt: number }>('POST', '/sessions', {
      idempotent: false,
      body: { stream, ...options },
    });
    return new RemoteStreamSession(this, r.data.sessionId, r.data.storeId, r.data.expiresAt);
  }
}
