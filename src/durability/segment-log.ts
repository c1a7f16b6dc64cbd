/**
 * One partition's durable log: a directory of segments (segment-format.ts)
 * holding frames (frame.ts) with continuous sequences.
 *
 * The partition worker drives it synchronously, on its own thread:
 *
 * ```ts fragment
 * const log = SegmentLog.open(dir, { fsync: 'always', segmentBytes }, (f) => replay(f));
 * // per drain, before the commit point:
 * log.append(FrameType.EVENTS, firstSeq, count, [view1, view2]); // one writev, no copy
 * log.commit(); // always: one fdatasync (group commit); interval: at most one per intervalMs
 * // when idle:
 * log.tick();
 * // checkpoint: log.sync(), write the checkpoint covering S <= log.durableSeq, then
 * log.deleteThrough(Math.min(checkpointFloor, oldestLive - 1));
 * log.close();
 * ```
 *
 * Errors: no space (or a short count) cuts the partial frame off again and
 * throws `RS_ERR_DISK_FULL`; the log stays usable and the next append tries
 * again. Any other write error, and any failed fdatasync, puts the log in a
 * failed state: every later call throws `RS_ERR_IO` (a failed sync is never
 * retried: the kernel may have dropped the dirty pages). Reopen to go on.
 * Frames appended since the last {@link SegmentLog.commit} are not
 * acknowledged yet, so the failure cuts them off again (truncate, then sync
 * the truncation): a reopen must not replay what the caller was told was not
 * stored. If that cut fails too, the call throws `RS_ERR_IO_UNKNOWN` (those
 * frames may or may not be replayed); later calls throw the `RS_ERR_IO`.
 *
 * The segment files themselves (creating, writing, syncing, deleting and
 * moving them aside) are segment-files.ts's.
 */
import * as path from 'node:path';
import { ClosedError, RingstoreError, invalidArgument, invalidOption } from '../errors.js';
import {
  FIRST_USER_TYPE, FRAME_HEADER_BYTES, FrameType, MAX_FRAME_COUNT, MAX_PAYLOAD_BYTES, SERIAL_MOD, align8, encodeFrame,
  partsLength,
} from './frame.js';
import { cutOffError, ioFailedError, outcomeUnknownError } from './errors.js';
import { nodeIo, type Io } from './io.js';
import { DEFAULT_SEGMENT_BYTES, validateLogOptions, type SegmentLogOptions } from './log-options.js';
import { restoreLog, type ReplayVisitor, type RestoreReport } from './restore.js';
import { SegmentFiles } from './segment-files.js';
import { segmentHeaderFrame, type FsyncMode } from './segment-format.js';

/** Where the frames appended since the last commit start: what a failure cuts off. */
interface Uncommitted {
  /** The segment they start in (a cut is possible only while it is the active one). */
  file: string;
  /** Byte offset of the first of them in that segment. */
  offset: number;
  /** {@link SegmentLog.nextSeq} before them. */
  next: number | null;
}

/** Where a log stood: its last segment's first sequence and generation ({@link SegmentLog.position}). */
export interface LogPosition {
  seq: number;
  gen: number;
}

/** One partition's durable log. See the module comment. */
export class SegmentLog {
  /** What the restore at open found. */
  readonly report: RestoreReport;
  readonly dir: string;
  readonly mode: FsyncMode;
  private readonly intervalMs: number;
  private readonly segmentBytes: number;
  private readonly now: () => number;
  private readonly files: SegmentFiles;
  private next: number | null;
  /** Serial of the next frame (frame.ts). */
  private serial: number;
  private synced: number;
  private dirty = false;
  private lastSync: number;
  private failure: RingstoreError | null = null;
  /** Frames appended since the last commit (none: null). Never acknowledged, so a failure cuts them off. */
  private uncommitted: Uncommitted | null = null;
  private closed = false;
  /** A sync marker is due at close: something was appended, or the log did not end with one. */
  private markerDue: boolean;
  /** Set by repair: close without writing anything. */
  private readOnlyClose = false;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);

  private constructor(dir: string, options: SegmentLogOptions, visit: ReplayVisitor | undefined) {
    this.dir = path.resolve(dir);
    this.mode = options.fsync;
    const io = options.io ?? nodeIo;
    this.intervalMs = options.intervalMs ?? 1000;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.now = options.now ?? (() => performance.now());
    let restored: ReturnType<typeof restoreLog>;
    try {
      restored = restoreLog(this.dir, io, { repair: options.repair, visit });
    } catch (err) {
      throw err instanceof RingstoreError ? err : ioFailedError('restoring the log', this.dir, err);
    }
    this.report = restored.report;
    this.files = new SegmentFiles(this.dir, io, restored.segments, restored.lastMode, (err) => this.fail(err));
    this.next = restored.report.nextSeq;
    this.markerDue = !restored.endsClean;
    this.serial = restored.nextSerial;
    // What restore kept may still sit in the page cache (after a process crash): sync it once, so
    // the durableSeq written into new frames is true.
    for (const s of this.files.segs) this.files.syncFile(s.file);
    if (this.files.segs.length) this.files.syncDir();
    this.synced = this.next === null ? 0 : this.next - 1;
    this.lastSync = this.now();
    this.files.openActive();
  }

  /**
   * Opens (creating if needed) the log in `dir`, restores it, and calls
   * `visit` for every verified frame in order. Throws `RS_ERR_LOG_CORRUPT`
   * (a {@link LogCorruptError} with `file` and `offset`) on damage a crash
   * cannot explain, unless `options.repair`. A torn tail is cut; the report
   * says how many bytes.
   */
  static open(dir: string, options: SegmentLogOptions, visit?: ReplayVisitor): SegmentLog {
    if (typeof dir !== 'string' || dir.length === 0) throw invalidOption('durability dir must be a non-empty string');
    validateLogOptions(options);
    return new SegmentLog(dir, options, visit);
  }

  /**
   * The explicit repair: restores like {@link open}, but where open would
   * refuse it copies the damaged segment to `<name>.broken`, renames every
   * later segment to `.broken`, and cuts the log at the bad offset. Returns
   * the report (`cut.verdict` is `repaired`, `cut.brokenCopies` lists the
   * copies); on an undamaged log it changes nothing.
   */
  static repair(dir: string, options: Omit<SegmentLogOptions, 'repair' | 'fsync'> = {}): RestoreReport {
    const log = SegmentLog.open(dir, { ...options, fsync: 'always', repair: true });
    log.readOnlyClose = true;
    log.close();
    return log.report;
  }

  /**
   * Reads and checks the log in `dir` without changing anything (a second
   * reader, a `verify` command): calls `visit` for each verified frame and
   * returns the report, `cut` saying what an open would cut. Throws
   * `RS_ERR_LOG_CORRUPT` where an open would refuse.
   */
  static verify(dir: string, visit?: ReplayVisitor, options: { io?: Io } = {}): RestoreReport {
    if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('the log directory must be a non-empty string');
    return restoreLog(path.resolve(dir), options.io ?? nodeIo, { dryRun: true, visit }).report;
  }

  /** Sequence the next frame must start at (null: the log is empty, any start is accepted). */
  get nextSeq(): number | null {
    return this.next;
  }

  /** First sequence still in the log (null: empty). */
  get firstSeq(): number | null {
    return this.files.segs.length ? this.files.segs[0].seq : null;
  }

  /** Highest sequence known fsynced (every frame up to it survives a power loss). */
  get durableSeq(): number {
    return this.synced;
  }

  /** Segment files, oldest first. */
  get segmentFiles(): string[] {
    return this.files.segs.map((s) => s.file);
  }

  /** True while written frames wait for an fdatasync (under `interval`, a {@link tick} will sync them). */
  get unsynced(): boolean {
    return this.dirty || this.files.unsyncedSealed.size > 0;
  }

  /** True after an I/O failure: every write throws `RS_ERR_IO` until the log is reopened. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /**
   * Writes one frame with one `writev` (the parts are not copied and need not
   * outlive the call). `firstSeq` must equal {@link nextSeq} (any value when
   * the log is empty); `count` may be 0 for control frames (purge, clear,
   * reset), which then share the sequence of the next event. Under `always`
   * a frame still unsynced from an earlier append is synced first, so each
   * frame is on disk before the next is written. Not durable until
   * {@link commit}. Throws `RS_ERR_DISK_FULL` (nothing kept; retry later),
   * `RS_ERR_IO` (the log has failed), `RS_ERR_INVALID_ARGUMENT`, `RS_ERR_CLOSED`.
   */
  append(type: number, firstSeq: number, count: number, parts: readonly Uint8Array[]): void {
    this.usable();
    if (!Number.isInteger(type) || type < FIRST_USER_TYPE || type > 255) {
      throw invalidArgument(`frame type must be an integer from ${FIRST_USER_TYPE} to 255, got ${type}`);
    }
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 0) throw invalidArgument(`firstSeq must be a non-negative safe integer, got ${firstSeq}`);
    if (!Number.isInteger(count) || count < 0 || count > MAX_FRAME_COUNT || !Number.isSafeInteger(firstSeq + count)) {
      throw invalidArgument(`count must be an integer from 0 to ${MAX_FRAME_COUNT}, got ${count}`);
    }
    if (this.next !== null && firstSeq !== this.next) {
      throw invalidArgument(`the frame starts at sequence ${firstSeq} but the log continues at ${this.next}`);
    }
    if (!Array.isArray(parts) || parts.some((p) => !(p instanceof Uint8Array))) throw invalidArgument('parts must be an array of Uint8Array');
    const payload = partsLength(parts);
    if (payload > MAX_PAYLOAD_BYTES) throw invalidArgument(`a frame payload is at most ${MAX_PAYLOAD_BYTES} bytes, got ${payload}`);

    if (this.files.activeMode === 'always' && this.dirty) this.syncNow();
    const bytes = align8(FRAME_HEADER_BYTES + payload);
    if (this.files.fd < 0 || this.files.activeMode !== this.mode || this.files.activeBytes + bytes > this.segmentBytes) this.roll(firstSeq);
    const frame = encodeFrame({ type, firstSeq, count, durableSeq: this.synced, serial: this.serial }, parts, this.header);
    const at = this.files.activeBytes;
    this.writeFrame(frame.iov, frame.bytes);
    this.uncommitted ??= { file: this.files.activeFile(), offset: at, next: this.next };
    this.next = firstSeq + count;
    this.markerDue = true;
  }

  /**
   * The commit point's sync. `always`: fdatasync if anything is unsynced
   * (one per drain however many producers: group commit). `interval`:
   * fdatasync when the last one is `intervalMs` old. `never`: nothing.
   * Once it returns, the frames appended since the last commit are the
   * caller's to acknowledge. If the sync fails, they are cut off again and
   * `RS_ERR_IO` is thrown (nothing of them is kept), or `RS_ERR_IO_UNKNOWN`
   * when the cut failed too (they may come back at a reopen).
   */
  commit(): void {
    this.usable();
    if (this.dirty && (this.mode === 'always' || (this.mode === 'interval' && this.now() - this.lastSync >= this.intervalMs))) this.syncNow();
    this.uncommitted = null;
  }

  /**
   * For `interval`, called by the worker when idle: syncs frames that have
   * waited `intervalMs` with no commit to sync them. Returns true when it
   * synced. A no-op in the other modes, and on a failed or closed log.
   */
  tick(): boolean {
    if (this.failure || this.closed || this.mode !== 'interval' || !this.dirty) return false;
    if (this.now() - this.lastSync < this.intervalMs) return false;
    this.syncNow();
    return true;
  }

  /** Fsyncs everything written, in any mode (before a checkpoint, at a clean stop). */
  sync(): void {
    this.usable();
    if (this.dirty || this.files.unsyncedSealed.size > 0) this.syncNow();
  }

  /**
   * Deletes the segments whose every frame is covered by `seq` (see
   * `isCovered` in log-options.ts: a segment goes once the next one starts at or below
   * `seq`). The active segment is never deleted. Call only once a durable
   * checkpoint covers `seq` and the ring no longer holds those events.
   * Returns how many segments were deleted.
   */
  deleteThrough(seq: number): number {
    this.usable();
    if (!Number.isSafeInteger(seq)) throw invalidArgument(`deleteThrough needs a safe integer, got ${seq}`);
    return this.files.deleteThrough(seq);
  }

  /**
   * The last segment (the active one, or the one the next append continues or follows), or null for an empty
   * log. Taken when a checkpoint is written, it marks where the log stood: {@link deleteBefore} with it later
   * deletes the segments sealed before it, for a caller whose checkpoints skip frames by their own numbering
   * (the metric store's) rather than by sequence, so that segments of count-0 frames, which start no later
   * sequence, can go too.
   */
  get position(): LogPosition | null {
    const last = this.files.segs.at(-1);
    return last === undefined ? null : { seq: last.seq, gen: last.gen };
  }

  /**
   * Deletes the segments sealed before `position` (a {@link position} taken earlier): every segment that the
   * next one, at or before `position`, follows. Call only once a durable checkpoint covers every frame written
   * before `position` was taken. Returns how many segments were deleted.
   */
  deleteBefore(position: LogPosition): number {
    this.usable();
    if (!Number.isSafeInteger(position?.seq) || !Number.isSafeInteger(position.gen) || position.gen < 0) {
      throw invalidArgument(`deleteBefore needs a position { seq, gen } of safe integers, got ${JSON.stringify(position)}`);
    }
    return this.files.deleteThrough(position.seq, position.gen);
  }

  /**
   * For a caller restored from a checkpoint that covers through `seq - 1`:
   * the log must go on at `seq`. A log that ends before it (every frame it
   * still holds is covered, but frames the checkpoint was written after are
   * gone: a repair cut them, or they were removed) cannot: appends at `seq`
   * would not follow, and a gap between segments reads as missing frames.
   * Such a log is refused with `RS_ERR_LOG_CORRUPT` (the log is closed
   * without writing), or under `repair` moved aside ({@link setAside}).
   * Returns the `.broken` copies (none when the log goes on at `seq`).
   */
  continueAt(seq: number, repair: boolean): string[] {
    this.usable();
    if (this.next === null || this.next >= seq) return [];
    if (repair) return this.setAside();
    const why = `the log in ${this.dir} ends at sequence ${this.next - 1}, before its checkpoint (through ${seq - 1}): ` +
      'frames written before that checkpoint are gone. Open with `repair` to set the log aside and go on from the checkpoint';
    this.readOnlyClose = true;
    this.close();
    throw new RingstoreError('RS_ERR_LOG_CORRUPT', why, { dir: this.dir, logEnd: this.next - 1, checkpoint: seq - 1 });
  }

  /**
   * Moves every segment aside to `<name>.broken` and leaves the log empty: the
   * next append starts a new segment at any sequence. Returns the copies
   * (also added to the report's cut, if any; their bytes to `bytesTruncated`).
   */
  setAside(): string[] {
    this.usable();
    const moved = this.files.moveAside(this.report);
    this.uncommitted = null;
    this.next = null;
    this.synced = 0;
    this.dirty = false;
    this.markerDue = false;
    this.report.segments = 0;
    this.report.firstSeq = null;
    this.report.nextSeq = null;
    this.report.cut?.brokenCopies.push(...moved);
    return moved;
  }

  /**
   * Syncs (a clean stop keeps everything, in every mode), writes and syncs a
   * sync marker (the proof restore uses to refuse later damage in
   * `interval`/`never` segments), and closes. Idempotent; a failed log just
   * closes.
   */
  close(): void {
    if (this.closed) return;
    try {
      if (!this.failure && !this.readOnlyClose) {
        this.sync();
        if (this.markerDue) this.writeSyncMarker();
      }
    } finally {
      this.closed = true;
      this.files.closeActive();
    }
  }

  private usable(): void {
    if (this.closed) throw new ClosedError('the durable log is closed');
    if (this.failure) throw this.failure;
  }

  /**
   * Puts the log in the failed state and returns the error to throw: after
   * cutting off the frames appended since the last commit, if any (see
   * {@link cutUncommitted}).
   */
  private fail(err: RingstoreError): RingstoreError {
    if (this.failure) return this.failure;
    this.failure = err;
    const cut = this.uncommitted;
    this.uncommitted = null;
    return cut === null ? err : this.cutUncommitted(cut, err);
  }

  /**
   * Truncates the active segment back to where the uncommitted frames start
   * and syncs the truncation, so that a reopen does not replay frames whose
   * appends are refused. The failed sync itself is not retried: this is a
   * new fdatasync of the file's new size. Returns `err` saying the frames
   * were cut; if they span a roll, or the truncation or its sync fails, an
   * `RS_ERR_IO_UNKNOWN` for this call (the log's failure stays `err`).
   */
  private cutUncommitted(cut: Uncommitted, err: RingstoreError): RingstoreError {
    const file = this.files.activeFile();
    let why: unknown = null;
    if (cut.file !== file || this.files.fd < 0) why = 'they span a segment roll';
    else {
      try {
        this.files.truncateActive(cut.offset);
      } catch (cutErr) {
        why = cutErr;
      }
    }
    if (why !== null) return outcomeUnknownError(err, why, file, cut.offset);
    this.next = cut.next;
    this.failure = cutOffError(err);
    return this.failure;
  }

  private writeFrame(iov: readonly Uint8Array[], bytes: number): void {
    this.files.write(iov, bytes);
    this.dirty = true;
    this.serial = (this.serial + 1) % SERIAL_MOD;
  }

  /** A count-0 SYNC frame saying everything before it is fsynced, itself fsynced. Skipped when there is no room. */
  private writeSyncMarker(): void {
    if (this.files.fd < 0 || this.next === null) return;
    const frame = encodeFrame({ type: FrameType.SYNC, firstSeq: this.next, count: 0, durableSeq: this.synced, serial: this.serial }, [], this.header);
    try {
      this.writeFrame(frame.iov, frame.bytes);
    } catch (err) {
      if ((err as RingstoreError).code === 'RS_ERR_DISK_FULL') return; // optional: without it restore is only less strict
      throw err;
    }
    this.syncNow();
    this.markerDue = false;
  }

  /** fdatasync of sealed `never` segments, then of the active one. Any failure is final. */
  private syncNow(): void {
    this.files.syncAll();
    this.dirty = false;
    this.synced = this.next === null ? 0 : this.next - 1;
    this.lastSync = this.now();
  }

  /**
   * Starts segment `<firstSeq>.seg` (segment-files.ts). The old one is
   * fsynced first unless it is a `never` segment (restore relies on this:
   * damage in a sealed `always`/`interval` segment is corruption).
   */
  private roll(firstSeq: number): void {
    if (this.files.fd >= 0 && this.files.activeMode !== 'never' && this.dirty) this.syncNow();
    const head = segmentHeaderFrame(firstSeq, this.synced, this.mode, this.serial);
    this.files.start(firstSeq, head, this.mode, this.dirty);
    this.serial = (this.serial + 1) % SERIAL_MOD;
    this.dirty = this.mode !== 'always';
  }
}
