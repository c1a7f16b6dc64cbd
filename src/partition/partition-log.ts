/**
 * A durable partition: its worker writes every drain to a segment log before
 * the drain's commit point, and checkpoints its memory now and then
 * (docs/durability.md, "Durable ring stores").
 *
 * - A drain's frame holds the input-ring bytes it consumed, as producers wrote
 *   them, plus what makes the commit repeatable: its commit time and the
 *   worker's id prefix (generated ids), and the positions it committed. The
 *   committer is deterministic from the committed state (committer.ts), so
 *   replaying the frame gives back the same positions, versions and ids.
 *   Purges and clears are frames of their own. The ack of an append therefore
 *   means "written" (under `fsync: 'always'`, "fsynced": one fdatasync per
 *   drain, group commit).
 * - A checkpoint is an image of the partition's memory at a commit point (the
 *   commit record, the tables, the slots and the arena; not the input or ack
 *   rings). Restore loads the newest valid one, rebuilds the worker's state
 *   from it like a restarted worker does, then replays the frames committed
 *   after it. Segments a kept checkpoint covers are deleted, so the disk holds
 *   two images plus the log since the older one.
 */
import { join } from 'node:path';
import { CheckpointStore } from '../durability/checkpoint.js';
import { CheckpointedLog } from '../durability/log-cut.js';
import { FRAME_HEADER_BYTES, FrameType } from '../durability/frame.js';
import type { FsyncMode } from '../durability/segment-format.js';
import { nodeIo, systemError, type Io } from '../durability/io.js';
import { makeDirs } from '../durability/make-dirs.js';
import { SegmentLog } from '../durability/segment-log.js';
import type { RestoreReport } from '../durability/restore.js';
import { RingstoreError } from '../errors.js';
import { Commit, Ctl, LINE_INTS, TableCursor, type PartitionMemory } from '../ring/layout.js';
import type { Committer, Journal } from './committer.js';
import { redrain, replayDrain, replayPurge } from './committer-log.js';
import { recoverCommitter } from './committer-recovery.js';

/** How a partition is made durable (resolved from the store's `durability` option). */
export interface PartitionDurability {
  /** This partition's directory. */
  dir: string;
  fsync: FsyncMode;
  intervalMs: number;
  segmentBytes: number;
  /** A checkpoint is written at the first commit point this long after the last one, if anything was logged since. */
  checkpointIntervalMs: number;
  /** Cut a damaged log where restore would refuse (keeps `.broken` copies). */
  repair: boolean;
}

/** What a durable partition's restore did (posted with the worker's 'ready'). */
export interface RestoreSummary {
  /** Live events after the restore. */
  events: number;
  /** Frames replayed after the checkpoint. */
  frames: number;
  checkpointSerial: number;
  bytesTruncated: number;
  ms: number;
}

const META_BYTES = 64;
/**
 * A checkpoint is due once the log after the newest holds this many images' worth of bytes. Each checkpoint
 * writes one image on the worker's thread, between drains: at 1 a flood writes as much checkpoint as log
 * (the default geometry's image is 28 MB a partition); at 4 checkpoints add a quarter to the log's writes,
 * and the disk stays bounded by the geometry (docs/durability.md, "Disk bound").
 */
const CHECKPOINT_LOG_IMAGES = 4;
const CKPT_VERSION = 1;

/**
 * The log's file operations: Node's, except that a test can make the next n
 * fdatasyncs fail with EIO through Ctl.FAIL_SYNC (a worker thread cannot be
 * handed a FaultIo: functions do not cross threads, shared memory does).
 */
function logIo(m: PartitionMemory): Io {
  const at = Ctl.FAIL_SYNC * LINE_INTS;
  return {
    ...nodeIo,
    fdatasync: (fd) => {
      const n = Atomics.load(m.i32, at);
      if (n > 0 && Atomics.compareExchange(m.i32, at, n, n - 1) === n) throw systemError('EIO', 'fdatasync');
      nodeIo.fdatasync(fd);
    },
  };
}

/** The byte ranges of a partition's memory a checkpoint holds. */
function imageRegions(m: PartitionMemory): [number, number][] {
  const o = m.offsets;
  return [
    [o.commit, o.input], // commit record, gauges, table cursors and seeds
    [o.seq, o.arena + m.geometry.arenaBytes], // slot columns and arena
    [o.dirHash, o.total], // key directory and dedup rings
  ];
}

export class PartitionLog implements Journal {
  private c: Committer;
  private readonly log: SegmentLog;
  /** Writes checkpoints and cuts the log they cover (purge and clear frames included: log-cut.ts). */
  private readonly cut: CheckpointedLog;
  private readonly cfg: PartitionDurability;
  private readonly meta = new Float64Array(META_BYTES / 8);
  private readonly metaBytes = new Uint8Array(this.meta.buffer);
  private lastCheckpoint = performance.now();
  private closed = false;
  /** Bytes of one checkpoint image (see `checkpointDue`). */
  private readonly imageBytes: number;
  /** Log bytes (frames, with headers) after the newest checkpoint: replayed at a restore, or written since. */
  private logBytes = 0;

  private constructor(c: Committer, cfg: PartitionDurability, log: SegmentLog, checkpoints: CheckpointStore) {
    this.c = c;
    this.cfg = cfg;
    this.log = log;
    this.cut = new CheckpointedLog(log, checkpoints);
    this.imageBytes = imageRegions(c.mem).reduce((n, [from, to]) => n + to - from, 64);
  }

  /**
   * True once the log after the newest checkpoint holds CHECKPOINT_LOG_IMAGES images' worth of bytes: then a checkpoint is
   * written at the next commit point the evictions allow, whatever the time. Without it, only
   * `checkpointIntervalMs` cut the log, so the disk grew with the append rate times that interval (and
   * across `kill -9` restarts, which never lived that long, for ever), not with the ring's size.
   */
  get checkpointDue(): boolean {
    return this.logBytes >= CHECKPOINT_LOG_IMAGES * this.imageBytes;
  }

  /**
   * Restores a partition from its directory into fresh memory (the newest
   * checkpoint, then the log after it), and returns its log, ready to take
   * the next drains. Throws `RS_ERR_LOG_CORRUPT` (file and offset in the
   * details) on damage a crash cannot explain, unless `cfg.repair`.
   */
  static restore(c: Committer, cfg: PartitionDurability): { log: PartitionLog; summary: RestoreSummary; report: RestoreReport } {
    const t0 = performance.now();
    makeDirs(join(cfg.dir, 'checkpoints'));
    const checkpoints = CheckpointStore.open(join(cfg.dir, 'checkpoints'));
    const m = c.mem;
    let ckptSerial = 0;
    const latest = checkpoints.latest;
    if (latest !== null) ckptSerial = loadImage(m, latest.data);
    // What the checkpoint covers was reported (checkpoints wait for it, see tick); older images may say less.
    m.tables[TableCursor.EVICTIONS_DELIVERED] = Math.max(m.tables[TableCursor.EVICTIONS_DELIVERED], m.tables[TableCursor.EVICTIONS_SENT]);
    recoverCommitter(c);
    let frames = 0;
    let replayedBytes = 0;
    let firstUncovered: string | undefined;
    const replay = (f: { type: number; payload: Uint8Array; file: string; offset: number }): void => {
      if (f.payload.length < META_BYTES) return;
      const meta = new Float64Array(f.payload.buffer.slice(f.payload.byteOffset, f.payload.byteOffset + META_BYTES));
      const serial = meta[0];
      if (serial <= ckptSerial) return;
      firstUncovered ??= f.file;
      frames++;
      replayedBytes += FRAME_HEADER_BYTES + f.payload.length;
      try {
        if (f.type === FrameType.EVENTS) {
          replayDrain(c, serial, meta[1], meta[2], meta[3] | 0, meta[4] | 0, meta[5], meta[6], f.payload.subarray(META_BYTES));
        } else if (f.type === FrameType.PURGE) replayPurge(c, serial, meta[1]);
        else if (f.type === FrameType.CLEAR) replayPurge(c, serial, null);
      } catch (err) {
        throw new RingstoreError('RS_ERR_LOG_CORRUPT', `${(err as Error).message} (${f.file} at byte ${f.offset})`, { file: f.file, offset: f.offset }, { cause: err });
      }
    };
    const log = SegmentLog.open(join(cfg.dir, 'log'), { fsync: cfg.fsync, intervalMs: cfg.intervalMs, segmentBytes: cfg.segmentBytes, repair: cfg.repair, io: logIo(c.mem) }, replay);
    // The next drain's frame starts at the restored tail: a log cut before the checkpoint is refused or set aside.
    log.continueAt(c.tailPos, cfg.repair);
    // Fresh memory: producers start claiming where the restored input cursor is.
    c.input.reset(c.input.head);
    const pl = new PartitionLog(c, cfg, log, checkpoints);
    if (latest !== null) pl.cut.restored(latest.generation, firstUncovered);
    pl.logBytes = replayedBytes; // a crash loop's restarts add up to a checkpoint too
    c.journal = pl;
    return {
      log: pl,
      report: log.report,
      summary: { events: c.live, frames, checkpointSerial: ckptSerial, bytesTruncated: log.report.bytesTruncated, ms: performance.now() - t0 },
    };
  }

  /** The committer to checkpoint (a new one after a rollback in place). */
  attach(c: Committer): void {
    this.c = c;
  }

  /**
   * After a worker restart on live memory (not a process restart): the
   * memory holds the committed state; the log may hold one commit more (a
   * drain or purge written just before the worker died, before its commit
   * point). That one is applied again, without writing it twice: a drain's
   * records are still in the input ring, and the committer gives the same
   * result from the same state.
   */
  static reattach(c: Committer, cfg: PartitionDurability): PartitionLog {
    makeDirs(join(cfg.dir, 'checkpoints'));
    const checkpoints = CheckpointStore.open(join(cfg.dir, 'checkpoints'));
    const committed = c.mem.committed(Commit.SERIAL); // recovery's own commit point moves the serial on
    recoverCommitter(c);
    let last: { type: number; meta: Float64Array } | null = null;
    const log = SegmentLog.open(join(cfg.dir, 'log'), { fsync: cfg.fsync, intervalMs: cfg.intervalMs, segmentBytes: cfg.segmentBytes, repair: cfg.repair, io: logIo(c.mem) }, (f) => {
      if (f.payload.length >= META_BYTES) last = { type: f.type, meta: new Float64Array(f.payload.buffer.slice(f.payload.byteOffset, f.payload.byteOffset + META_BYTES)) };
    });
    const tail = last as { type: number; meta: Float64Array } | null;
    if (tail !== null && tail.meta[0] > committed) {
      const m = tail.meta;
      if (m[0] !== committed + 1) {
        throw new RingstoreError('RS_ERR_LOG_CORRUPT', `the log is ${m[0] - committed} commits ahead of the partition's memory`, { dir: cfg.dir });
      }
      if (tail.type === FrameType.EVENTS) redrain(c, m[0], m[1], m[2], m[3] | 0, m[4] | 0, m[5], m[6]);
      else replayPurge(c, m[0], tail.type === FrameType.PURGE ? m[1] : null);
    }
    const pl = new PartitionLog(c, cfg, log, checkpoints);
    c.journal = pl;
    return pl;
  }

  drain(serial: number, batchMs: number, idPrefix: number, start: number, end: number, tailBefore: number, tailAfter: number): void {
    const m = this.meta;
    m[0] = serial;
    m[1] = batchMs;
    m[2] = idPrefix;
    m[3] = start;
    m[4] = end;
    m[5] = tailBefore;
    m[6] = tailAfter;
    m[7] = 0;
    const mem = this.c.mem;
    const cap = mem.geometry.inputBytes;
    const a = start & (cap - 1);
    const len = (end - start) >>> 0;
    const parts = a + len <= cap
      ? [this.metaBytes, mem.inU8.subarray(a, a + len)]
      : [this.metaBytes, mem.inU8.subarray(a, cap), mem.inU8.subarray(0, a + len - cap)];
    this.log.append(FrameType.EVENTS, tailBefore, tailAfter - tailBefore, parts);
    this.log.commit();
    this.logBytes += FRAME_HEADER_BYTES + META_BYTES + len;
  }

  purge(serial: number, cutoff: number): void {
    this.marker(FrameType.PURGE, serial, cutoff);
  }

  clear(serial: number): void {
    this.marker(FrameType.CLEAR, serial, 0);
  }

  private marker(type: number, serial: number, value: number): void {
    this.meta.fill(0);
    this.meta[0] = serial;
    this.meta[1] = value;
    this.log.append(type, this.c.tailPos, 0, [this.metaBytes]);
    this.log.commit();
    this.logBytes += FRAME_HEADER_BYTES + META_BYTES;
  }

  /**
   * Between drains: syncs what `interval` left unsynced, and writes a checkpoint when one is due and the
   * coordinator has called onDiscarded for every eviction sent to it: a checkpoint past an eviction whose
   * report is still queued would lose the report to a process crash (restore replays only the frames after
   * the checkpoint, and with them their evictions).
   */
  tick(): void {
    if (this.closed) return;
    this.log.tick();
    const t = this.c.mem.tables;
    if (t[TableCursor.EVICTIONS_DELIVERED] < t[TableCursor.EVICTIONS_SENT]) return;
    // By time only when something was logged (or replayed) since: an idle store rewrote its images every interval.
    if (this.checkpointDue || (this.logBytes > 0 && performance.now() - this.lastCheckpoint >= this.cfg.checkpointIntervalMs)) this.checkpoint();
  }

  /**
   * Writes a checkpoint of the committed state (call between drains): syncs
   * the log through it first, then deletes the segments the kept checkpoints
   * cover.
   */
  checkpoint(): void {
    const c = this.c;
    this.log.sync();
    this.cut.write(c.tailPos - 1, imageParts(c));
    this.lastCheckpoint = performance.now();
    this.logBytes = 0;
  }

  /** A clean stop: a last checkpoint, then the log is synced and closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.checkpoint();
    } finally {
      this.log.close();
    }
  }

  /** The log failed for good (I/O error): close what can be closed. */
  get failed(): boolean {
    return this.log.failed;
  }
}

/**
 * The image of a partition's committed state (call between drains): a
 * 64-byte header, then the memory regions a checkpoint holds. Views of live
 * memory: copy them before the next drain. Also what `ringstore serve --nats`
 * shares through JetStream (EventStore.exportImages).
 */
export function imageParts(c: Committer): Uint8Array[] {
  const m = c.mem;
  const header = new Float64Array(8);
  header[0] = CKPT_VERSION;
  header[1] = Atomics.load(m.i32, Ctl.COMMIT_SLOT * LINE_INTS);
  header[2] = c.serial;
  header[3] = c.tailPos;
  const parts: Uint8Array[] = [new Uint8Array(header.buffer)];
  for (const [from, to] of imageRegions(m)) parts.push(m.u8.subarray(from, to));
  return parts;
}

/**
 * Checks that `data` is an image of a partition of `m`'s geometry (format and
 * size); returns its header. Cheap: run it on every image before loading any.
 * @throws RingstoreError `RS_ERR_DATA_DIR_MISMATCH` (another geometry) or `RS_ERR_LOG_CORRUPT` (another format)
 */
export function checkImage(m: PartitionMemory, data: Uint8Array): Float64Array {
  if (data.length < 64) throw new RingstoreError('RS_ERR_DATA_DIR_MISMATCH', 'the checkpoint does not match this store\'s geometry');
  const header = new Float64Array(data.buffer.slice(data.byteOffset, data.byteOffset + 64));
  if (header[0] !== CKPT_VERSION) throw new RingstoreError('RS_ERR_LOG_CORRUPT', `checkpoint format ${header[0]} is not ${CKPT_VERSION}`);
  if (imageRegions(m).reduce((n, [from, to]) => n + to - from, 64) !== data.length) {
    throw new RingstoreError('RS_ERR_DATA_DIR_MISMATCH', 'the checkpoint does not match this store\'s geometry');
  }
  return header;
}

/** Copies a checkpoint image into fresh memory; returns the serial it covers. */
export function loadImage(m: PartitionMemory, data: Uint8Array): number {
  // Checked before anything is copied: a refused image leaves the memory as it was.
  const header = checkImage(m, data);
  let at = 64;
  for (const [from, to] of imageRegions(m)) {
    m.u8.set(data.subarray(at, at + (to - from)), from);
    at += to - from;
  }
  Atomics.store(m.i32, Ctl.COMMIT_SLOT * LINE_INTS, header[1]);
  return header[2];
}
