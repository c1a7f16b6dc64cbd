/**
 * Maps a failed key-value batch of a {@link StreamSession} to the stream error
 * it means: a failed lease fence is a session error, a moved head a version
 * mismatch, a taken idempotency key a duplicate id; anything else is a
 * backend failure.
 */
import type { Logger } from 'pino';
import type { KeyValueBackend, KvBatchOp } from './backend.js';
import {
  DuplicateIdempotencyIdError,
  KvConcurrencyError,
  KvDuplicateKeyError,
  KvKeyNotFoundError,
  StoreBackendError,
  StoreNotOpenError,
  StoreVersionMismatchError,
} from './errors.js';
import type { StreamReader } from './session-reads.js';
import type { StreamKeys } from './stream-id.js';

/** @internal What {@link failedBatch} needs from its session. */
export interface FailureContext {
  readonly backend: KeyValueBackend;
  readonly keys: StreamKeys;
  readonly storeId: string;
  readonly sessionId: string;
  readonly reader: StreamReader;
  readonly log: Logger;
  /** Reads the stored lease and throws the session error it implies. */
  checkStored(): Promise<void>;
  /** Replaces the session's view of the head with `fresh`; returns the version it believed. */
  headMoved(fresh: { version: number; etag: string | null }): number;
}

/** Throws the stream error that the failure `err` of the batch `ops` means. */
export async function failedBatch(c: FailureContext, operation: string, err: unknown, ops: readonly KvBatchOp[]): Promise<never> {
  if (err instanceof KvDuplicateKeyError || err instanceof KvConcurrencyError || err instanceof KvKeyNotFoundError) {
    // A single write (renew's compare-and-set) fails without a batch op index: it is the one op.
    const key = err.opIndex !== undefined ? ops[err.opIndex]?.key : ops.length === 1 ? ops[0]!.key : undefined;
    const k = c.keys;
    if (key === k.lease) {
      await c.checkStored();
      throw new StoreNotOpenError(c.storeId, c.sessionId);
    }
    if (key === k.head || key?.startsWith(k.events)) {
      const fresh = await c.reader.readHead(operation);
      const expected = c.headMoved(fresh);
      c.log.warn({ expected, actual: fresh.version }, 'version moved under the session');
      throw new StoreVersionMismatchError(c.storeId, expected, fresh.version);
    }
    if (key?.startsWith(k.idem) && err instanceof KvDuplicateKeyError) {
      const id = decodeURIComponent(key.slice(k.idem.length));
      const existing = await c.reader.tryBackend(operation, () => c.backend.tryGet<number>(key));
      throw new DuplicateIdempotencyIdError(c.storeId, id, existing?.value ?? -1);
    }
  }
  c.log.error({ err, operation }, 'backend failure');
  throw new StoreBackendError(operation, c.storeId, err);
}
