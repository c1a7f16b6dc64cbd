/**
 * The journal of a durable `MetricStore`: one segment log (src/durability)
 * whose frames are batches of write operations (metric-ops.ts), and
 * checkpoints of the store's memory. The store writes a batch's frame before
 * it applies the batch, so what a query sees is on disk (under `fsync:
 * 'always'`, fsynced: one fdatasync per batch, the group commit).
 *
 * - **Checkpoints** are images of the store: each partition's counter,
 *   cursor and live samples, and the key table (slots, pins, generations).
 *   One is written once `capacity` samples were added since the last one
 *   (a frame with no sample, keyId, releaseKeyId or clear, counts as one),
 *   once `checkpointIntervalMs` passed with writes since, and at `close()`.
 *   Two are kept; segments the older one covers are deleted, so the disk
 *   holds two images plus the frames of about the last two capacities.
 *   Frames with no sample start no later sequence: the log is cut by where
 *   it stood when the older checkpoint was written (src/durability/log-cut.ts).
 * - **Restore** loads the newest valid checkpoint, then replays the frames
 *   after it (frames carry a number; the checkpoint says the last it holds).
 *   A torn tail is cut; damage a crash cannot explain refuses to open,
 *   naming the file and offset, unless `repair`.
 * @module
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { CheckpointStore } from '../durability/checkpoint.js';
import { LogCorruptError } from '../durability/errors.js';
import type { Io } from '../durability/io.js';
import type { RestoreReport } from '../durability/restore.js';
import { CheckpointedLog } from '../durability/log-cut.js';
import { SegmentLog } from '../durability/segment-log.js';
import type { DurabilityOptions } from './options.js';
import { RingstoreError } from '../errors.js';
import { metricInternals, type MetricInternals } from './metric-internals.js';
import type { MetricKeyImage } from './metric-keys.js';
import { applyOps, decodeOps, type OpBatch } from './metric-ops.js';
import type { MetricStore } from './metric-store.js';

/** The frame type of a batch of metric operations (16..255 are the caller's, see src/durability/frame.ts). */
export const METRIC_FRAME = 32;
const CKPT_VERSION = 1;
const CKPT_HEAD = 64;

/** What a durable metric store's restore did (`DurableMetricStore.restored`). */
export interface MetricRestoreSummary {
  /** Live samples after the restore. */
  samples: number;
  /** Frames replayed after the checkpoint. */
  frames: number;
  /** Generation of the checkpoint loaded (0: none). */
  checkpoint: number;
  /** Bytes cut off a torn tail (or by a repair). */
  bytesTruncated: number;
  ms: number;
  /** The log's restore report (segments, cut, ...). */
  report: RestoreReport;
}

/** The resolved `durability` option, plus its test hook. */
export type JournalConfig = Required<DurabilityOptions> & { io?: Io };

export class MetricJournal {
  readonly #store: MetricStore;
  readonly #mem: MetricInternals;
  readonly #log: SegmentLog;
  readonly #cfg: JournalConfig;
  readonly #logger: Logger | undefined;
  /** Number of the next frame (the last one written plus one). */
  #frameNo: number;
  /** Sequence of the next sample. */
  #seq: number;
  /** State at the last checkpoint: sequence, frame number and time. */
  #ckptSeq: number;
  #ckptFrame: number;
  /** Frames with no sample since the last checkpoint (written or replayed): they count towards the next one too. */
  #emptyFrames: number;
  #ckptAt = performance.now();
  /** Writes checkpoints and cuts the log they cover (count-0 frames included: log-cut.ts). */
  readonly #cut: CheckpointedLog;
  #closed = false;

  private constructor(store: MetricStore, cfg: JournalConfig, logger: Logger | undefined, log: SegmentLog, checkpoints: CheckpointStore, frameNo: number, seq: number, ckpt: { frameNo: number; seq: number }, emptyFrames: number) {
    this.#store = store;
    this.#mem = metricInternals.get(store) as MetricInternals;
    this.#cfg = cfg;
    this.#logger = logger;
    this.#log = log;
    this.#frameNo = frameNo;
    this.#seq = seq;
    // The checkpoint's, not the restored ones: the frames replayed after it count towards the next one,
    // or restarts that each live less than checkpointIntervalMs and write less than a capacity never cut the log.
    this.#ckptSeq = ckpt.seq;
    this.#ckptFrame = ckpt.frameNo;
    this.#emptyFrames = emptyFrames;
    this.#cut = new CheckpointedLog(log, checkpoints);
  }

  /**
   * Restores `store` (fresh, empty, no `onDiscarded` calls wanted) from the
   * directory `root`: the newest checkpoint, then the frames after it. Logs
   * and returns what it did. Throws `RS_ERR_LOG_CORRUPT` (a `LogCorruptError`
   * with `file` and `offset`) or `RS_ERR_DATA_DIR_MISMATCH`.
   */
  static open(store: MetricStore, root: string, cfg: JournalConfig, logger: Logger | undefined): { journal: MetricJournal; restored: MetricRestoreSummary } {
    const t0 = performance.now();
    const mem = metricInternals.get(store) as MetricInternals;
    const checkpoints = CheckpointStore.open(path.join(root, 'checkpoints'), { io: cfg.io });
    let ckpt = { frameNo: 0, seq: 1 };
    const latest = checkpoints.latest;
    if (latest !== null) ckpt = loadImage(mem, latest.data, latest.file);
    let last = ckpt.frameNo;
    let frames = 0;
    let emptyFrames = 0;
    let firstUncovered: string | undefined;
    const log = SegmentLog.open(path.join(root, 'log'), { fsync: cfg.fsync, intervalMs: cfg.intervalMs, segmentBytes: cfg.segmentBytes, repair: cfg.repair, io: cfg.io }, (f) => {
      try {
        if (f.type !== METRIC_FRAME) throw new Error(`a frame of type ${f.type} is not a metric frame`);
        const ops = decodeOps(f.payload);
        if (ops.samples !== f.count) throw new Error(`the frame holds ${ops.samples} samples, its header says ${f.count}`);
        if (ops.frameNo <= ckpt.frameNo) return; // in the checkpoint
        firstUncovered ??= f.file;
        if (ops.frameNo !== last + 1) throw new Error(`frame ${ops.frameNo} follows frame ${last}: frames are missing`);
        if (last === ckpt.frameNo && f.firstSeq !== ckpt.seq) throw new Error(`the first frame after the checkpoint starts at sample ${f.firstSeq}, not ${ckpt.seq}`);
        applyOps(store, ops);
        last = ops.frameNo;
        frames++;
        if (ops.samples === 0) emptyFrames++;
      } catch (err) {
        throw new LogCorruptError(f.file, f.offset, (err as Error).message);
      }
    });
    // The next frame starts where the checkpoint ends: a log cut before it is refused, or set aside under repair.
    log.continueAt(ckpt.seq, cfg.repair);
    const seq = log.nextSeq ?? ckpt.seq;
    const report = log.report;
    const samples = store.stats.live;
    const restored: MetricRestoreSummary = {
      samples, frames, checkpoint: latest?.generation ?? 0, bytesTruncated: report.bytesTruncated, ms: performance.now() - t0, report,
    };
    if (report.cut !== null) logger?.warn({ dir: root, cut: report.cut, bytesTruncated: report.bytesTruncated }, `cut ${report.bytesTruncated} bytes of the log at ${report.cut.file}:${report.cut.offset} (${report.cut.verdict})`);
    logger?.info({ dir: root, samples, frames, checkpoint: restored.checkpoint, ms: restored.ms }, `restored ${samples} samples in ${restored.ms.toFixed(1)} ms`);
    const journal = new MetricJournal(store, cfg, logger, log, checkpoints, last + 1, seq, ckpt, emptyFrames);
    if (latest !== null) journal.#cut.restored(latest.generation, firstUncovered);
    return { journal, restored };
  }

  /**
   * Writes a batch's frame and commits it (per the fsync mode). Throws
   * `RS_ERR_DISK_FULL` (nothing kept; the next write tries again) or
   * `RS_ERR_IO` (the journal takes no more writes).
   */
  write(batch: OpBatch): void {
    this.#log.append(METRIC_FRAME, this.#seq, batch.samples, batch.encode(this.#frameNo));
    this.#log.commit();
    this.#frameNo++;
    this.#seq += batch.samples;
    if (batch.samples === 0) this.#emptyFrames++;
  }

  /** After a written batch was applied: a checkpoint once `capacity` samples (or frames with none) came since the last. */
  applied(): void {
    if (this.#seq - this.#ckptSeq + this.#emptyFrames >= this.#store.capacity) this.#tryCheckpoint();
  }

  /** When idle: syncs what `interval` left unsynced, and writes a checkpoint when one is due. */
  tick(): void {
    if (this.#closed || this.#log.failed) return;
    try {
      this.#log.tick();
    } catch (err) {
      this.#logger?.error({ err }, 'the metric log failed to sync');
      return;
    }
    if (this.#frameNo - 1 > this.#ckptFrame && performance.now() - this.#ckptAt >= this.#cfg.checkpointIntervalMs) this.#tryCheckpoint();
  }

  /** True once an I/O error failed the log: writes throw `RS_ERR_IO` until the store is reopened. */
  get failed(): boolean {
    return this.#log.failed;
  }

  /** Segment files, oldest first. */
  get segmentFiles(): string[] {
    return this.#log.segmentFiles;
  }

  /**
   * Writes a checkpoint of the applied state (between batches): syncs the log
   * through it first, then deletes the segments the kept checkpoints cover.
   */
  checkpoint(): void {
    this.#log.sync();
    const { cols, table } = this.#mem;
    const head = new Float64Array(CKPT_HEAD / 8);
    const json = new TextEncoder().encode(JSON.stringify(table.image()));
    head[0] = CKPT_VERSION;
    head[1] = this.#frameNo - 1;
    head[2] = this.#seq;
    head[3] = cols.partitions;
    head[4] = this.#store.capacity;
    head[5] = json.length;
    const parts: Uint8Array[] = [new Uint8Array(head.buffer), u8(cols.appended), u8(cols.cursor)];
    for (const [from, to] of liveSlots(cols)) parts.push(u8(cols.times, from, to), u8(cols.values, from, to), u8(cols.keys, from, to));
    parts.push(json);
    this.#cut.write(this.#seq - 1, parts);
    this.#ckptSeq = this.#seq;
    this.#ckptFrame = this.#frameNo - 1;
    this.#emptyFrames = 0;
    this.#ckptAt = performance.now();
  }

  /** A clean stop: a last checkpoint (if the log works), then the log is synced and closed. Throws what the checkpoint threw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (!this.#log.failed) this.checkpoint();
    } finally {
      this.#log.close();
    }
  }

  /** A checkpoint that only logs its failure (disk full: the previous one stays; the log keeps everything). */
  #tryCheckpoint(): void {
    try {
      this.checkpoint();
    } catch (err) {
      this.#ckptAt = performance.now(); // not again before the next interval
      this.#ckptSeq = this.#seq;
      this.#emptyFrames = 0;
      this.#logger?.warn({ err }, 'a metric store checkpoint failed; the log keeps everything');
    }
  }
}

/** A typed array's bytes (`from`..`to` elements). */
function u8(a: Float64Array | Int32Array, from = 0, to = a.length): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset + from * a.BYTES_PER_ELEMENT, (to - from) * a.BYTES_PER_ELEMENT);
}

/** Each partition's slots holding samples, in partition order: `[start, start + min(appended, cap))`. */
function liveSlots(cols: MetricInternals['cols']): [number, number][] {
  const out: [number, number][] = [];
  for (let p = 0; p < cols.partitions; p++) out.push([cols.start[p], cols.start[p] + Math.min(cols.appended[p], cols.cap[p])]);
  return out;
}

/** Loads a checkpoint image into fresh memory; returns its frame number and next sequence. */
function loadImage(mem: MetricInternals, data: Uint8Array, file: string): { frameNo: number; seq: number } {
  const { cols, table } = mem;
  if (data.length < CKPT_HEAD) throw new LogCorruptError(file, 0, 'the checkpoint is shorter than its header');
  const head = new Float64Array(data.slice(0, CKPT_HEAD).buffer);
  if (head[0] !== CKPT_VERSION) throw new LogCorruptError(file, 0, `checkpoint format ${head[0]} is not ${CKPT_VERSION}`);
  if (head[3] !== cols.partitions || head[4] !== cols.times.length) {
    throw new RingstoreError('RS_ERR_DATA_DIR_MISMATCH', `checkpoint ${file} was made with ${head[3]} partitions and capacity ${head[4]}`, { file });
  }
  let at = CKPT_HEAD;
  const fill = (to: Uint8Array): void => {
    if (at + to.length > data.length) throw new LogCorruptError(file, at, 'the checkpoint is shorter than its image');
    to.set(data.subarray(at, at + to.length));
    at += to.length;
  };
  fill(u8(cols.appended));
  fill(u8(cols.cursor));
  for (const [from, to] of liveSlots(cols)) {
    fill(u8(cols.times, from, to));
    fill(u8(cols.values, from, to));
    fill(u8(cols.keys, from, to));
  }
  if (at + head[5] !== data.length) throw new LogCorruptError(file, at, 'the checkpoint does not end with its key table');
  table.load(JSON.parse(new TextDecoder().decode(data.subarray(at))) as MetricKeyImage);
  return { frameNo: head[1], seq: head[2] };
}
