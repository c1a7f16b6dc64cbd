/**
 * The append of a session on a backend that keeps native stream logs (the
 * memory backend, see `backends/memory-streams.ts`): synchronous, and all or
 * nothing without an undo log, because every precondition is checked before
 * the log changes and the log's append cannot fail midway.
 */
import type { NativeStream } from './backends/memory-streams.js';
import type { PreparedEvent } from './envelope.js';
import { DuplicateIdempotencyIdError, StoreVersionMismatchError } from './errors.js';

/** Returned by {@link appendToNativeLog} when the lease is no longer the session's: nothing was written. */
export const FENCED = -1;

/**
 * Appends `prepared` (at least one event, versions already checked against
 * head `v`) to the log of `native`, after checking, in this order: the lease
 * fence (the stored lease still has etag `leaseEtag` and is live at `now`),
 * that the log is at `v` (the head compare-and-set of the key-value path;
 * cannot fail while the fence holds), and that no id given by the caller is
 * in the log. `preparedAt` is the time the events were prepared at (of
 * the ids the log generates and of default metadata).
 * @returns the new head, or {@link FENCED}
 * @throws StoreVersionMismatchError (its `actual` is the log's head), DuplicateIdempotencyIdError
 */
export function appendToNativeLog(native: NativeStream, prepared: readonly PreparedEvent[], v: number, leaseEtag: string, now: number, preparedAt: number, storeId: string): number {
  if (!native.leaseIs(leaseEtag, now)) return FENCED;
  const log = native.log;
  if (log.version !== v) throw new StoreVersionMismatchError(storeId, v, log.version);
  const dup = log.firstDuplicate(prepared);
  if (dup >= 0) {
    const id = prepared[dup]!.id!;
    throw new DuplicateIdempotencyIdError(storeId, id, log.versionOf(id));
  }
  // The first write of a stream creates its log in the backend (reads and refused writes did not).
  native.writableLog().append(prepared, preparedAt);
  return v + prepared.length;
}
