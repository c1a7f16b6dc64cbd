/**
 * Checkpoints: an opaque blob (the worker's key versions, idempotency window,
 * counters) that covers every frame up to a sequence. Written temp file,
 * fdatasync, rename, directory fsync (Postgres `durable_rename`), so a crash
 * leaves the old checkpoint or the new one. The last two are kept: an
 * invalid newest falls back to the previous one, which is why the log may
 * only be cut through the older one ({@link CheckpointStore.deletableThrough}).
 *
 * File `<generation>.ckpt` (20 digits), little-endian:
 *
 * ```text
 *  0  4  crc        CRC-32/IEEE of bytes 4 .. end
 *  4  4  version    1
 *  8  8  magic      "RSCHKPT1"
 * 16  8  coveredThroughSeq
 * 24  8  generation (equals the file name)
 * 32  8  data bytes
 * 40  8  created, ms since the epoch (f64)
 * 48  n  data
 * ```
 */
import * as path from 'node:path';
import { invalidArgument } from '../errors.js';
import { crc32 } from './crc32.js';
import { LogCorruptError, diskFullError, ioFailedError, isNoSpace } from './errors.js';
import { nodeIo, readWhole, unlinkQuietly, writeFileDurably, type Io } from './io.js';

const HEADER_BYTES = 48;
const VERSION = 1;
const MAGIC = new TextEncoder().encode('RSCHKPT1');
const NAME = /^(\d{20})\.ckpt$/;
const TWO32 = 2 ** 32;

/** A checkpoint read back. */
export interface Checkpoint {
  /** Every frame covered by this sequence (see `isCovered`) is in the data. */
  coveredThroughSeq: number;
  /** The caller's blob (freshly read: the caller owns it). */
  data: Uint8Array;
  generation: number;
  file: string;
  createdMs: number;
}

/** A checkpoint file that failed its checks, and why. */
export interface SkippedCheckpoint {
  file: string;
  reason: string;
}

/** Options of {@link CheckpointStore.open}. */
export interface CheckpointOptions {
  /** File operations (default Node's fs). */
  io?: Io;
  /** Checkpoints kept (default 2, at least 1). */
  keep?: number;
}

interface Kept {
  generation: number;
  file: string;
  seq: number | null; // null: invalid
}

/** The checkpoints of one directory. See the module comment. */
export class CheckpointStore {
  readonly dir: string;
  /** The newest valid checkpoint at open (null: none). */
  readonly latest: Checkpoint | null;
  /** Newer checkpoint files that failed their checks at open. */
  readonly skipped: SkippedCheckpoint[];
  private readonly io: Io;
  private readonly keep: number;
  private kept: Kept[];

  private constructor(dir: string, io: Io, keep: number, latest: Checkpoint | null, skipped: SkippedCheckpoint[], kept: Kept[]) {
    this.dir = dir;
    this.io = io;
    this.keep = keep;
    this.latest = latest;
    this.skipped = skipped;
    this.kept = kept;
  }

  /**
   * Reads the checkpoints in `dir` (creating it if missing), removes leftover
   * `.tmp` files, and finds the newest valid one. Throws `RS_ERR_LOG_CORRUPT`
   * when checkpoint files exist but none is valid: replaying without one
   * would silently lose the state they held.
   */
  static open(dir: string, options: CheckpointOptions = {}): CheckpointStore {
    if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('checkpoint dir must be a non-empty string');
    const keep = options.keep ?? 2;
    if (!Number.isInteger(keep) || keep < 1) throw invalidArgument(`keep must be an integer >= 1, got ${keep}`);
    const io = options.io ?? nodeIo;
    const abs = path.resolve(dir);
    io.mkdirp(abs);
    const kept: Kept[] = [];
    for (const name of io.readdir(abs)) {
      if (name.endsWith('.ckpt.tmp')) unlinkQuietly(io, path.join(abs, name));
      const m = NAME.exec(name);
      if (m) kept.push({ generation: Number(m[1]), file: path.join(abs, name), seq: null });
    }
    kept.sort((a, b) => b.generation - a.generation);
    let latest: Checkpoint | null = null;
    const skipped: SkippedCheckpoint[] = [];
    for (const k of kept) {
      const got = decodeCheckpoint(readWhole(io, k.file) ?? new Uint8Array(0), k);
      if (typeof got === 'string') {
        if (!latest) skipped.push({ file: k.file, reason: got });
        continue;
      }
      k.seq = got.coveredThroughSeq;
      latest ??= got;
    }
    if (!latest && kept.length > 0) {
      throw new LogCorruptError(kept[0].file, 0, `no valid checkpoint (${skipped.map((s) => `${path.basename(s.file)}: ${s.reason}`).join('; ')})`);
    }
    return new CheckpointStore(abs, io, keep, latest, skipped, kept);
  }

  /**
   * The highest sequence the log may be cut through: the oldest kept valid
   * checkpoint's, so a fallback to it still finds every frame it needs
   * (null: no checkpoint, cut nothing).
   */
  get deletableThrough(): number | null {
    let min: number | null = null;
    for (const k of this.kept) if (k.seq !== null && (min === null || k.seq < min)) min = k.seq;
    return min;
  }

  /** The oldest kept valid checkpoint's generation and sequence: the one a fallback would restore (null: none). */
  get oldestKept(): { generation: number; seq: number } | null {
    let oldest: { generation: number; seq: number } | null = null;
    for (const k of this.kept) if (k.seq !== null && (oldest === null || k.generation < oldest.generation)) oldest = { generation: k.generation, seq: k.seq };
    return oldest;
  }

  /** Newest generation written or found (0: none). */
  get generation(): number {
    return this.kept.length ? this.kept[0].generation : 0;
  }

  /**
   * Writes a checkpoint of `parts` covering `coveredThroughSeq`, durably, then
   * removes the ones beyond `keep`. The caller must have fsynced the log
   * through that sequence first (`SegmentLog.sync`, then `durableSeq`): a
   * checkpoint must never cover frames a power loss could take back. Throws
   * `RS_ERR_DISK_FULL` (nothing changed), `RS_ERR_IO`, or
   * `RS_ERR_INVALID_ARGUMENT` for a sequence below the newest checkpoint's.
   */
  write(coveredThroughSeq: number, parts: readonly Uint8Array[]): { file: string; generation: number; bytes: number; ms: number } {
    const t0 = performance.now();
    if (!Number.isSafeInteger(coveredThroughSeq) || coveredThroughSeq < 0) {
      throw invalidArgument(`coveredThroughSeq must be a non-negative safe integer, got ${coveredThroughSeq}`);
    }
    const newest = this.kept.find((k) => k.seq !== null);
    if (newest && newest.seq !== null && coveredThroughSeq < newest.seq) {
      throw invalidArgument(`a checkpoint cannot go back: ${coveredThroughSeq} is below the newest one's ${newest.seq}`);
    }
    if (!Array.isArray(parts) || parts.some((p) => !(p instanceof Uint8Array))) throw invalidArgument('parts must be an array of Uint8Array');
    const generation = this.generation + 1;
    const file = path.join(this.dir, `${String(generation).padStart(20, '0')}.ckpt`);
    const header = encodeHeader(coveredThroughSeq, generation, parts);
    try {
      writeFileDurably(this.io, file, [header, ...parts]);
    } catch (err) {
      throw isNoSpace(err) ? diskFullError(file, err) : ioFailedError('writing a checkpoint', file, err);
    }
    this.kept.unshift({ generation, file, seq: coveredThroughSeq });
    for (const old of this.kept.splice(this.keep)) unlinkQuietly(this.io, old.file);
    return { file, generation, bytes: HEADER_BYTES + dataLength(parts), ms: performance.now() - t0 };
  }
}

function dataLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

function setU64(view: DataView, at: number, v: number): void {
  view.setUint32(at, v % TWO32, true);
  view.setUint32(at + 4, Math.floor(v / TWO32), true);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * TWO32 + view.getUint32(at, true);
}

function encodeHeader(seq: number, generation: number, parts: readonly Uint8Array[]): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(4, VERSION, true);
  header.set(MAGIC, 8);
  setU64(view, 16, seq);
  setU64(view, 24, generation);
  setU64(view, 32, dataLength(parts));
  view.setFloat64(40, Date.now(), true);
  let crc = crc32(header.subarray(4));
  for (const p of parts) crc = crc32(p, crc);
  view.setUint32(0, crc, true);
  return header;
}

/** A checkpoint from its file's bytes, or why it is invalid. */
function decodeCheckpoint(bytes: Uint8Array, k: Kept): Checkpoint | string {
  if (bytes.byteLength < HEADER_BYTES) return `${bytes.byteLength} bytes, shorter than a header`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[8 + i] !== MAGIC[i]) return 'bad magic';
  const version = view.getUint32(4, true);
  if (version !== VERSION) return `unsupported version ${version}`;
  const length = getU64(view, 32);
  if (length !== bytes.byteLength - HEADER_BYTES) return `header says ${length} data bytes, the file holds ${bytes.byteLength - HEADER_BYTES}`;
  if (crc32(bytes.subarray(4)) !== view.getUint32(0, true)) return 'checksum mismatch';
  if (getU64(view, 24) !== k.generation) return `generation ${getU64(view, 24)} does not match the file name`;
  const seq = getU64(view, 16);
  if (!Number.isSafeInteger(seq)) return 'bad sequence';
  return {
    coveredThroughSeq: seq, data: bytes.subarray(HEADER_BYTES), generation: k.generation, file: k.file,
    createdMs: view.getFloat64(40, true),
  };
}
