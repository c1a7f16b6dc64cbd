/**
 * Writing a checkpoint and cutting the log it covers.
 *
 * The log may only be cut through the oldest kept checkpoint (a fallback from a damaged newest one must find
 * every frame after it). By sequence, a segment goes once the next one starts at or below that checkpoint's
 * sequence; but count-0 frames (a purge, a clear, a metric store's `keyId`) start no later sequence, so a run
 * of them with nothing appended in between was never cut (until 2026-12-06: a store that only purged or only
 * pinned keys grew its log for ever, and replayed all of it at each open).
 *
 * So each checkpoint written here remembers where the log stood ({@link SegmentLog.position}) when it was
 * written, and the log is cut before that position: every segment sealed by then holds only frames written
 * before the checkpoint. That is safe for callers whose restore skips the frames a checkpoint holds by their
 * own numbering (a drain's serial, a metric frame's number), not by sequence: both of ours. The checkpoint a
 * restore loaded gets the position of the first segment holding a frame it does not cover ({@link restored});
 * an older one found at open has none: the log is cut by its sequence, as before, until it is no longer kept.
 * @module
 */
import { basename } from 'node:path';
import type { CheckpointStore } from './checkpoint.js';
import { parseSegmentName } from './segment-format.js';
import type { LogPosition, SegmentLog } from './segment-log.js';

export class CheckpointedLog {
  readonly #log: SegmentLog;
  readonly #checkpoints: CheckpointStore;
  /** Where the log stood when each checkpoint this process wrote was written, by generation. */
  readonly #positions = new Map<number, LogPosition>();

  constructor(log: SegmentLog, checkpoints: CheckpointStore) {
    this.#log = log;
    this.#checkpoints = checkpoints;
  }

  /**
   * After a restore from checkpoint `generation`: `firstUncovered` is the segment file of the first frame the
   * checkpoint does not hold (undefined: it holds every frame), so every segment before it may go once that
   * checkpoint is the oldest kept. Nothing is remembered when that file is no longer in the log (a repair moved
   * it aside): a position must never point past segments written later.
   */
  restored(generation: number, firstUncovered: string | undefined): void {
    if (firstUncovered === undefined) {
      const at = this.#log.position;
      if (at !== null) this.#positions.set(generation, at);
      return;
    }
    const name = parseSegmentName(basename(firstUncovered));
    if (name !== null && this.#log.segmentFiles.some((f) => basename(f) === name.name)) this.#positions.set(generation, { seq: name.seq, gen: name.gen });
  }

  /**
   * Writes a checkpoint covering `coveredThroughSeq` (the caller synced the log first: `SegmentLog.sync`), then
   * deletes the segments the oldest kept checkpoint covers. Throws what `CheckpointStore.write` throws (nothing
   * is deleted then).
   */
  write(coveredThroughSeq: number, parts: readonly Uint8Array[]): void {
    const position = this.#log.position;
    const { generation } = this.#checkpoints.write(coveredThroughSeq, parts);
    if (position !== null) this.#positions.set(generation, position);
    const oldest = this.#checkpoints.oldestKept;
    if (oldest === null) return;
    for (const g of this.#positions.keys()) if (g < oldest.generation) this.#positions.delete(g);
    const at = this.#positions.get(oldest.generation);
    if (at !== undefined) this.#log.deleteBefore(at);
    else this.#log.deleteThrough(oldest.seq);
  }
}
