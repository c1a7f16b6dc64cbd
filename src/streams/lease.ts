/**
 * Session leases kept in the backend, so that sessions exclude each other
 * across processes sharing a durable store. A lease is granted when the stream
 * has none or its lease expired (compare-and-set on the etag makes the grant
 * atomic); a live lease is never stolen.
 */
import { hostname } from 'node:os';
import type { KeyValueBackend } from './backend.js';
import { InvalidStreamOptionError, KvConcurrencyError, KvDuplicateKeyError } from './errors.js';

/**
 * The longest lease a session may take or renew to, in ms: one day. A lease is
 * how long a crashed holder keeps its stream from every other session, so a
 * bound keeps a typo (or a unit mix-up: seconds given as ms * 1000) from
 * locking a stream for weeks; the daemon's routes have the same bound.
 */
export const MAX_SESSION_TIMEOUT_MS = 86_400_000;

/**
 * Checks a lease length (`open()`'s and the defaults' `sessionTimeoutMs`,
 * `renew()`'s `timeoutMs`): an integer in [1, {@link MAX_SESSION_TIMEOUT_MS}].
 * @throws InvalidStreamOptionError
 */
export function checkSessionTimeout(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_SESSION_TIMEOUT_MS) {
    throw new InvalidStreamOptionError(`${what} must be an integer in [1, ${MAX_SESSION_TIMEOUT_MS}] (ms, at most one day), got ${String(v)}`, { [what]: v });
  }
  return v;
}

/** The stored lease. */
export interface LeaseRecord {
  /** Holder session. */
  readonly sessionId: string;
  /** Expiry, epoch ms (provider clock). */
  readonly expiresAt: number;
  /** `host:pid` of the holder, for diagnostics. */
  readonly owner: string;
}

/** Outcome of one acquisition attempt. */
export type LeaseAttempt =
  | { readonly granted: true; readonly etag: string; readonly expiresAt: number; readonly tookOverFrom?: string }
  | { readonly granted: false; readonly holder?: LeaseRecord };

const OWNER = `${hostname()}:${process.pid}`;

/** Builds this process's lease record. */
export function leaseRecord(sessionId: string, expiresAt: number): LeaseRecord {
  return { sessionId, expiresAt, owner: OWNER };
}

/**
 * Tries once to take the lease at `key` for `sessionId` until `now + timeoutMs`.
 * Backend I/O errors propagate; lost races report `granted: false`.
 */
export async function tryAcquireLease(backend: KeyValueBackend, key: string, sessionId: string, now: number, timeoutMs: number): Promise<LeaseAttempt> {
  const cur = await backend.tryGet<LeaseRecord>(key);
  const expiresAt = now + timeoutMs;
  try {
    if (cur === undefined) {
      const etag = await backend.add(key, leaseRecord(sessionId, expiresAt));
      return { granted: true, etag, expiresAt };
    }
    if (cur.value.expiresAt <= now) {
      const etag = await backend.set(key, leaseRecord(sessionId, expiresAt), { etag: cur.etag });
      return { granted: true, etag, expiresAt, tookOverFrom: cur.value.sessionId };
    }
    return { granted: false, holder: cur.value };
  } catch (err) {
    if (err instanceof KvDuplicateKeyError || err instanceof KvConcurrencyError) return { granted: false };
    throw err;
  }
}
