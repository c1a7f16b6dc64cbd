/**
 * The entry point of the versioned streams: opens exclusive, leased sessions on
 * streams of one key-value backend.
 */
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { KeyValueBackend } from './backend.js';
import { MemoryBackend } from './backends/memory.js';
import type { NativeStream } from './backends/memory-streams.js';
import { assertClock, systemClock, type Clock } from './clock.js';
import { InvalidStreamOptionError, OpenStoreFailedError, ProviderClosedError, StoreBackendError, refuseUnknownOption } from './errors.js';
import { checkSessionTimeout, tryAcquireLease } from './lease.js';
import { keySet } from '../known-keys.js';
import { isLiveSink, type LiveSink } from './live.js';
import { StreamSession } from './session.js';
import { DEFAULT_DATABASE, formatStoreId, parseStreamId, streamKeys, type StreamIdInput } from './stream-id.js';

/** Sessions held before the first sweep of expired ones. */
const MIN_SWEEP = 1024;

/** Defaults applied to every `open()`. */
export interface StreamDefaults {
  /** Database of stream ids given without one (default `"EventStores"`). */
  database?: string;
  /** Lease length in ms, an integer in [1, `MAX_SESSION_TIMEOUT_MS` (one day)] (default 60_000). */
  sessionTimeoutMs?: number;
  /** How long `open()` waits for a held stream, in ms (default 5_000; 0 = fail at once). */
  openTimeoutMs?: number;
}

/** Options of {@link StreamStoreProvider}. */
export interface StreamStoreProviderOptions {
  /** Key-value backend (default: a new {@link MemoryBackend} on `clock`). */
  backend?: KeyValueBackend;
  /** Time source for leases, waits and timestamps (default: the system clock). */
  clock?: Clock;
  /** pino logger (default: silent). */
  logger?: Logger;
  /** Defaults for `open()`. */
  defaults?: StreamDefaults;
  /**
   * Live view: every committed stream event is also appended to this sink
   * (e.g. ringstore's core `EventStore`, configured with `key: e => e.stream`).
   */
  publishTo?: LiveSink;
}

/** Options of {@link StreamStoreProvider.open}. */
export interface OpenOptions {
  /** Lease length in ms, an integer in [1, `MAX_SESSION_TIMEOUT_MS` (one day)] (default: `defaults.sessionTimeoutMs`, 60_000). */
  sessionTimeoutMs?: number;
  /** Max wait for a stream held by a live session, in ms (default: `defaults.openTimeoutMs`, 5_000). */
  openTimeoutMs?: number;
  /** Aborts the wait; `open()` then rejects with OpenStoreFailedError (cause: the abort reason). */
  signal?: AbortSignal;
}

const PROVIDER_OPTIONS = keySet<StreamStoreProviderOptions>({ backend: 1, clock: 1, logger: 1, defaults: 1, publishTo: 1 });
const DEFAULTS_OPTIONS = keySet<StreamDefaults>({ database: 1, sessionTimeoutMs: 1, openTimeoutMs: 1 });
const OPEN_OPTIONS = keySet<OpenOptions>({ sessionTimeoutMs: 1, openTimeoutMs: 1, signal: 1 });

const BACKEND_METHODS = ['add', 'set', 'get', 'tryGet', 'remove', 'list', 'batch', 'close'] as const;

/**
 * The native log of a stream when the backend is exactly a {@link MemoryBackend}
 * (not a subclass or wrapper, whose overridden key-value methods the native
 * path would bypass), else undefined: the stream is kept as key-value records.
 */
function nativeStreamOf(backend: KeyValueBackend, headKey: string, leaseKey: string): NativeStream | undefined {
  return Object.getPrototypeOf(backend) === MemoryBackend.prototype ? (backend as MemoryBackend).nativeStream(headKey, leaseKey) : undefined;
}

function checkMs(v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new InvalidStreamOptionError(`${what} must be an integer >= ${min} (ms)`, { [what]: v });
  return v;
}

/**
 * Opens sessions on versioned streams.
 *
 * @example
 * ```ts
 * const provider = new StreamStoreProvider();
 * await using account = await provider.open('BankAccount/42');
 * await account.append([{ type: 'Opened', data: { owner: 'Joe' } }]);
 * ```
 */
export class StreamStoreProvider {
  /** The backend in use. */
  readonly backend: KeyValueBackend;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #defaults: Readonly<Required<StreamDefaults>>;
  readonly #publishTo: LiveSink | undefined;
  readonly #ownsBackend: boolean;
  /** Sessions to close with the provider: open, or expired and not yet swept (see #sweepExpired). */
  readonly #sessions = new Set<StreamSession>();
  /** Size of #sessions at which the next open sweeps it. */
  #sweepAt = MIN_SWEEP;
  #closed = false;

  /** Validates the options and fills defaults. @throws InvalidStreamOptionError */
  constructor(options: StreamStoreProviderOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidStreamOptionError('StreamStoreProvider options must be an object');
    refuseUnknownOption(options, PROVIDER_OPTIONS, 'options');
    const clock = options.clock ?? systemClock;
    assertClock(clock, 'options.clock');
    this.#clock = clock;
    if (options.backend !== undefined) {
      const b = options.backend as unknown as Record<string, unknown> | null;
      const missing = b === null || typeof b !== 'object' ? ['(not an object)'] : BACKEND_METHODS.filter((m) => typeof b[m] !== 'function');
      if (missing.length > 0) throw new InvalidStreamOptionError(`options.backend is not a KeyValueBackend (missing: ${missing.join(', ')})`);
    }
    if (options.logger !== undefined && (options.logger === null || typeof options.logger.child !== 'function')) {
      throw new InvalidStreamOptionError('options.logger must be a pino logger');
    }
    if (options.publishTo !== undefined && !isLiveSink(options.publishTo)) throw new InvalidStreamOptionError('options.publishTo must have an append(event) method');
    const d = options.defaults === undefined ? {} : options.defaults;
    if (d === null || typeof d !== 'object') throw new InvalidStreamOptionError('options.defaults must be an object');
    refuseUnknownOption(d, DEFAULTS_OPTIONS, 'options.defaults');
    const database = d.database ?? DEFAULT_DATABASE;
    if (typeof database !== 'string' || database.trim().length === 0 || database.includes('/')) throw new InvalidStreamOptionError('defaults.database must be a non-empty string without "/"');
    this.#defaults = Object.freeze({
      database,
      sessionTimeoutMs: checkSessionTimeout(d.sessionTimeoutMs ?? 60_000, 'defaults.sessionTimeoutMs'),
      openTimeoutMs: checkMs(d.openTimeoutMs ?? 5_000, 'defaults.openTimeoutMs', 0),
    });
    this.#ownsBackend = options.backend === undefined;
    this.backend = options.backend ?? new MemoryBackend({ clock });
    this.#logger = options.logger ?? pino({ level: 'silent' });
    this.#publishTo = options.publishTo;
  }

  /** The filled defaults. */
  get defaults(): Readonly<Required<StreamDefaults>> {
    return this.#defaults;
  }

  /**
   * Opens a session on a stream. Granted at once when the stream is free or its
   * lease expired; when a live session holds it, waits with backoff up to
   * `openTimeoutMs`.
   * @param streamId - `{ database?, name, id }` or `"name/id"` / `"database/name/id"`
   * @throws OpenStoreFailedError on timeout or abort; InvalidStreamArgumentError; InvalidStreamOptionError
   */
  async open(streamId: StreamIdInput | string, options: OpenOptions = {}): Promise<StreamSession> {
    if (this.#closed) throw new ProviderClosedError();
    const id = parseStreamId(streamId, this.#defaults.database);
    if (options === null || typeof options !== 'object') throw new InvalidStreamOptionError('open(streamId, options): options must be an object');
    refuseUnknownOption(options, OPEN_OPTIONS, 'open options');
    const sessionTimeoutMs = checkSessionTimeout(options.sessionTimeoutMs ?? this.#defaults.sessionTimeoutMs, 'sessionTimeoutMs');
    const openTimeoutMs = checkMs(options.openTimeoutMs ?? this.#defaults.openTimeoutMs, 'openTimeoutMs', 0);
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidStreamOptionError('open(): signal must be an AbortSignal');
    const storeId = formatStoreId(id);
    const keys = streamKeys(id);
    const sessionId = randomUUID();
    const log = this.#logger.child({ storeId, sessionId });
    const start = this.#clock.now();
    let backoff = 1;
    for (;;) {
      if (signal?.aborted) throw new OpenStoreFailedError(storeId, openTimeoutMs, 'aborted', { cause: signal.reason });
      // A waiter outliving close(): the backend may be closed underneath it.
      if (this.#closed) throw new ProviderClosedError();
      let attempt;
      try {
        attempt = await tryAcquireLease(this.backend, keys.lease, sessionId, this.#clock.now(), sessionTimeoutMs);
      } catch (err) {
        if (this.#closed) throw new ProviderClosedError();
        throw new StoreBackendError('open', storeId, err);
      }
      if (attempt.granted) {
        let head;
        let native;
        try {
          native = nativeStreamOf(this.backend, keys.head, keys.lease);
          head = native !== undefined ? { value: { version: native.log.version }, etag: null } : await this.backend.tryGet<{ version: number }>(keys.head);
        } catch (err) {
          await this.backend.remove(keys.lease, { etag: attempt.etag }).catch(() => undefined);
          throw new StoreBackendError('open', storeId, err);
        }
        if (this.#closed) {
          await this.backend.remove(keys.lease, { etag: attempt.etag }).catch(() => undefined);
          throw new ProviderClosedError();
        }
        const session = new StreamSession({
          backend: this.backend,
          clock: this.#clock,
          logger: this.#logger,
          streamId: id,
          storeId,
          keys,
          sessionId,
          leaseEtag: attempt.etag,
          expiresAt: attempt.expiresAt,
          sessionTimeoutMs,
          head: head === undefined ? { version: 0, etag: null } : { version: head.value.version, etag: head.etag },
          publishTo: this.#publishTo,
          native,
          onClose: (s) => this.#sessions.delete(s),
        });
        this.#sessions.add(session);
        if (this.#sessions.size >= this.#sweepAt) this.#sweepExpired();
        log.info({ tookOverFrom: attempt.tookOverFrom, version: head?.value.version ?? 0 }, 'stream opened');
        return session;
      }
      const now = this.#clock.now();
      const elapsed = now - start;
      if (elapsed >= openTimeoutMs) {
        const holder = attempt.holder;
        const why = holder ? `held by session ${holder.sessionId} (${holder.owner}) until ${new Date(holder.expiresAt).toISOString()}` : 'lost every race for the lease';
        // Contention, not a fault: the caller gets the error (over HTTP a 423).
        log.info({ openTimeoutMs, holder: holder?.sessionId }, 'open failed');
        throw new OpenStoreFailedError(storeId, openTimeoutMs, why);
      }
      let wait = Math.min(backoff, openTimeoutMs - elapsed);
      if (attempt.holder !== undefined) wait = Math.max(1, Math.min(wait, attempt.holder.expiresAt - now + 1));
      backoff = Math.min(backoff * 2, 50);
      try {
        await this.#clock.sleep(wait, signal);
      } catch (err) {
        throw new OpenStoreFailedError(storeId, openTimeoutMs, 'aborted', { cause: err });
      }
    }
  }

  /**
   * Forgets the sessions whose lease expired by this provider's clock: such a session can never work again
   * (every call answers expired or taken over), and a program that drops one without `close()` would
   * otherwise keep it here until the provider closes (a leak over weeks). Amortised: the set is swept
   * when it has doubled since the last sweep.
   */
  #sweepExpired(): void {
    const now = this.#clock.now();
    for (const s of this.#sessions) if (now >= s.expiresAt) this.#sessions.delete(s);
    this.#sweepAt = Math.max(MIN_SWEEP, 2 * this.#sessions.size);
  }

  /** Closes every open session, then the backend if the provider created it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const results = await Promise.allSettled([...this.#sessions].map((s) => s.close()));
    if (this.#ownsBackend) await this.backend.close();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}
