/** A versioned-stream session held by the daemon, used over HTTP. */
import type { RingstoreClient } from './client.js';
import { NotFoundError } from './errors.js';
import { invalidArgument } from '../errors.js';
import { jsonText, pathSegment, versionSegment } from './args.js';
import { checkCallOptions } from './options.js';
import { keySet } from '../known-keys.js';
import type { NewVersionedEvent, VersionedEvent, VersionedSnapshot } from './types.js';

/** Options of {@link RingstoreClient.openSession}. */
export interface OpenSessionOptions {
  /** Lease length in ms (server default 60,000). */
  sessionTimeoutMs?: number;
  /** How long the server waits for a stream held by another session, in ms (default 5,000; 0 = fail at once with 423). */
  openTimeoutMs?: number;
}

const SESSION_APPEND_OPTIONS = keySet<{ expectedVersion?: number }>({ expectedVersion: 1 });
const SESSION_READ_OPTIONS = keySet<{ toVersion?: number; useSnapshot?: boolean }>({ toVersion: 1, useSnapshot: 1 });

/**
 * A remote `StreamSession`: the same operations as `ringstore/streams`, over
 * HTTP. Errors keep the library's codes (`RS_ERR_STORE_VERSION_MISMATCH` 409,
 * `RS_ERR_STORE_SESSION_EXPIRED` 410...). Writes are not retried; reads are.
 */
export class RemoteStreamSession implements AsyncDisposable {
  /** The session id (a capability: whoever has it can use the session). */
  readonly sessionId: string;
  /** `database/name/id`. */
  readonly storeId: string;
  #expiresAt: number;
  readonly #client: RingstoreClient;
  readonly #base: string;

  /** @internal Use {@link RingstoreClient.openSession}. */
  constructor(client: RingstoreClient, sessionId: string, storeId: string, expiresAt: number) {
    this.#client = client;
    this.sessionId = sessionId;
    this.storeId = storeId;
    this.#expiresAt = expiresAt;
    this.#base = `/sessions/${encodeURIComponent(sessionId)}`;
  }

  /** When the lease ends (epoch ms, server clock), unless renewed. */
  get expiresAt(): number {
    return this.#expiresAt;
  }

  async #get<T>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return (await this.#client.request<T>('GET', this.#base + path, { idempotent: true, ...(query ? { query } : {}) })).data;
  }

  /** Appends atomically; resolves with the new version. */
  async append(events: readonly NewVersionedEvent[], options: { expectedVersion?: number } = {}): Promise<number> {
    checkCallOptions('session append', options, SESSION_APPEND_OPTIONS);
    // Strict JSON, as the library takes it: JSON.stringify would have stored NaN and Infinity as null.
    const r = await this.#client.request<{ version: number }>('POST', `${this.#base}/events`, {
      idempotent: false,
      rawBody: jsonText({ events, ...(options.expectedVersion !== undefined ? { expectedVersion: options.expectedVersion } : {}) }, true),
    });
    return r.data.version;
  }

  /** Events 1..toVersion, or after the greatest snapshot <= toVersion with `useSnapshot`. */
  read<TData = unknown, TState = unknown>(options: { toVersion?: number; useSnapshot?: boolean } = {}): Promise<{ snapshot?: VersionedSnapshot<TState>; events: VersionedEvent<TData>[] }> {
    checkCallOptions('session read', options, SESSION_READ_OPTIONS);
    return this.#get('/events', { toVersion: options.toVersion, useSnapshot: options.useSnapshot });
  }

  /** Events first..last (inclusive) that exist. */
  async slice<TData = unknown>(first: number, last: number): Promise<VersionedEvent<TData>[]> {
    return (await this.#get<{ events: VersionedEvent<TData>[] }>('/slice', { first, last })).events;
  }

  /** One event; `NotFoundError` (`RS_ERR_STREAM_VERSION_NOT_FOUND`) when absent. */
  get<TData = unknown>(version: number): Promise<VersionedEvent<TData>> {
    return this.#get(`/events/${versionSegment(version)}`);
  }

  /** The stream head version. */
  async version(): Promise<number> {
    return (await this.#get<{ version: number }>('/version')).version;
  }

  /** Version of the event with this id (`RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND` when absent). */
  async versionOf(eventId: string): Promise<number> {
    if (typeof eventId !== 'string' || eventId.length === 0) throw invalidArgument('eventId must be a non-empty string');
    // A URL resolves a "." or ".." segment away (`%2E%2E` too): the request would reach another route.
    if (eventId === '.' || eventId === '..') throw invalidArgument(`an event id "${eventId}" cannot be looked up over HTTP (URLs resolve it away); read the events instead`);
    return (await this.#get<{ version: number }>(`/ids/${pathSegment(eventId, 'eventId')}`)).version;
  }

  /** Stores a snapshot of the state at `version`. */
  async snapshot(version: number, state: unknown): Promise<void> {
    await this.#client.request('POST', `${this.#base}/snapshots`, { idempotent: false, rawBody: jsonText({ version, state }, true) });
  }

  /** Snapshot versions, ascending. */
  async snapshotVersions(): Promise<number[]> {
    return (await this.#get<{ versions: number[] }>('/snapshots')).versions;
  }

  /** Removes one snapshot (`RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND` when absent). */
  async clearSnapshot(version: number): Promise<void> {
    await this.#client.request('DELETE', `${this.#base}/snapshots/${versionSegment(version)}`, { idempotent: false });
  }

  /** Removes every snapshot. */
  async clearSnapshots(): Promise<void> {
    await this.#client.request('DELETE', `${this.#base}/snapshots`, { idempotent: true });
  }

  /** Extends the lease; resolves with the new expiry. */
  async renew(timeoutMs?: number): Promise<number> {
    const r = await this.#client.request<{ expiresAt: number }>('POST', `${this.#base}/renew`, { idempotent: true, body: timeoutMs !== undefined ? { timeoutMs } : {} });
    this.#expiresAt = r.data.expiresAt;
    return this.#expiresAt;
  }

  /** Closes the session and releases the lease. Idempotent: a session already gone is fine. */
  async close(): Promise<void> {
    try {
      await this.#client.request('DELETE', this.#base, { idempotent: true });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
