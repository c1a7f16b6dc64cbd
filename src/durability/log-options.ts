/**
 * The options of a durable log, their validation, and the coverage rule that
 * ties checkpoints, replay and segment deletion together.
 */
import { invalidOption } from '../errors.js';
import type { Io } from './io.js';
import type { FsyncMode } from './segment-format.js';

/** Options of `SegmentLog.open`. */
export interface SegmentLogOptions {
  /** `always`: fdatasync at every commit; `interval`: at most every `intervalMs` (plus `SegmentLog.tick`); `never`: the OS decides. */
  fsync: FsyncMode;
  /** For `interval`: the longest time written frames stay unsynced while commits or ticks come (default 1000). */
  intervalMs?: number;
  /** A segment rolls once a frame would take it past this size (default 64 MiB; at least 4 KiB). */
  segmentBytes?: number;
  /** File operations (default: Node's fs; tests pass a FaultIo). */
  io?: Io;
  /** Clock in ms for `interval` (default `performance.now`). */
  now?: () => number;
  /**
   * Cut the log at a corruption instead of refusing: the damaged segment is
   * copied to `.broken`, later segments are renamed to `.broken`. Only for an
   * explicit repair.
   */
  repair?: boolean;
}

/** Default segment size. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Smallest segment size accepted. */
export const MIN_SEGMENT_BYTES = 4096;

/**
 * True when a checkpoint covering `seq` includes the frame: its events are
 * all at or below `seq`, or, for a count-0 frame (purge, clear, reset), its
 * `firstSeq` (the next event's sequence) is. A count-0 frame at `seq + 1`
 * may have been applied before the checkpoint was taken or not, so it is
 * replayed: such frames must be idempotent.
 */
export function isCovered(frame: { firstSeq: number; count: number }, seq: number): boolean {
  return frame.firstSeq + Math.max(frame.count, 1) - 1 <= seq;
}

export function validateLogOptions(o: SegmentLogOptions): void {
  if (!o || typeof o !== 'object') throw invalidOption('durability options must be an object');
  if (o.fsync !== 'always' && o.fsync !== 'interval' && o.fsync !== 'never') {
    throw invalidOption(`fsync must be 'always', 'interval' or 'never', got ${String(o.fsync)}`);
  }
  if (o.intervalMs !== undefined && (!Number.isFinite(o.intervalMs) || o.intervalMs < 0)) {
    throw invalidOption(`intervalMs must be a finite number >= 0, got ${o.intervalMs}`);
  }
  if (o.segmentBytes !== undefined && (!Number.isSafeInteger(o.segmentBytes) || o.segmentBytes < MIN_SEGMENT_BYTES)) {
    throw invalidOption(`segmentBytes must be an integer >= ${MIN_SEGMENT_BYTES}, got ${o.segmentBytes}`);
  }
}
