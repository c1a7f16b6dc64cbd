/**
 * The segment files of one partition's durable log (segment-log.ts): which
 * segments the directory holds, oldest first, and the active one (the last,
 * open for appends). Creating, writing, syncing, deleting and moving them
 * aside happen here; what the frames mean (sequences, commits, the sync
 * policy) is the log's.
 */
import * as path from 'node:path';
import type { RingstoreError } from '../errors.js';
import { diskFullError, ioFailedError, isNoSpace } from './errors.js';
import { closeQuietly, unlinkQuietly, writeAll, type Io } from './io.js';
import { moveBroken, type RestoreReport } from './restore.js';
import { segmentName, type FsyncMode } from './segment-format.js';

/** A sealed or active segment. */
interface Seg {
  seq: number;
  gen: number;
  file: string;
}

/**
 * The segment files of a log directory. An I/O failure that fails the log
 * goes through `fail` (the log's failed state), which returns the error to throw.
 */
export class SegmentFiles {
  readonly dir: string;
  private readonly io: Io;
  private readonly fail: (err: RingstoreError) => RingstoreError;
  /** Every segment, oldest first; the last is the active one. */
  readonly segs: Seg[];
  /** The active segment, open for appends (-1: none). */
  fd = -1;
  activeBytes = 0;
  /** Fsync mode of the active segment's header. */
  activeMode: FsyncMode | null;
  /** Sealed `never` segments not yet fsynced (synced by the log's sync and close). */
  readonly unsyncedSealed = new Set<string>();

  constructor(dir: string, io: Io, segments: readonly { seq: number; gen: number; name: string }[], lastMode: FsyncMode | null, fail: (err: RingstoreError) => RingstoreError) {
    this.dir = dir;
    this.io = io;
    this.fail = fail;
    this.segs = segments.map((s) => ({ seq: s.seq, gen: s.gen, file: path.join(dir, s.name) }));
    this.activeMode = lastMode;
  }

  /** Opens the active segment (the newest), if any, for appends. */
  openActive(): void {
    const active = this.segs.at(-1);
    if (active) {
      try {
        this.fd = this.io.open(active.file, 'a');
        this.activeBytes = this.io.size(this.fd);
      } catch (err) {
        throw this.fail(ioFailedError('opening the active segment', active.file, err));
      }
    }
  }

  activeFile(): string {
    return this.segs.at(-1)?.file ?? this.dir;
  }

  /**
   * Appends bytes to the active segment with one `writev`. No space (or a
   * short count) cuts the partial write off again and throws
   * `RS_ERR_DISK_FULL`; any other failure fails the log.
   */
  write(iov: readonly Uint8Array[], bytes: number): void {
    const file = this.activeFile();
    try {
      writeAll(this.io, this.fd, iov, bytes);
    } catch (err) {
      if (!isNoSpace(err)) throw this.fail(ioFailedError('write', file, err));
      try {
        this.io.ftruncate(this.fd, this.activeBytes);
      } catch (cutErr) {
        throw this.fail(ioFailedError('truncating a partial frame', file, cutErr));
      }
      throw diskFullError(file, err);
    }
    this.activeBytes += bytes;
  }

  /** Truncates the active segment back to `offset` and syncs the truncation. Throws what the I/O throws. */
  truncateActive(offset: number): void {
    this.io.ftruncate(this.fd, offset);
    this.activeBytes = offset;
    this.io.fdatasync(this.fd);
  }

  /** fdatasync of sealed `never` segments, then of the active one. Any failure is final. */
  syncAll(): void {
    for (const file of this.unsyncedSealed) {
      this.syncFile(file);
      this.unsyncedSealed.delete(file);
    }
    if (this.fd >= 0) {
      try {
        this.io.fdatasync(this.fd);
      } catch (err) {
        throw this.fail(ioFailedError('fdatasync', this.activeFile(), err));
      }
    }
  }

  syncDir(): void {
    try {
      this.io.fsyncDir(this.dir);
    } catch (err) {
      throw this.fail(ioFailedError('fsync of the directory', this.dir, err));
    }
  }

  syncFile(file: string): void {
    let fd: number;
    try {
      fd = this.io.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.fail(ioFailedError('open', file, err));
    }
    try {
      this.io.fdatasync(fd);
    } catch (err) {
      throw this.fail(ioFailedError('fdatasync', file, err));
    } finally {
      closeQuietly(this.io, fd);
    }
  }

  /**
   * Creates segment `<firstSeq>.seg` with its header `head` and makes it the
   * active one. Under `always` the header is fsynced; in every mode the
   * directory is, before any frame goes in (one directory sync per segment,
   * so `never` keeps its names too). If the new file cannot be written, it is
   * removed and the old segment stays active. The old one, sealed, is
   * remembered as unsynced when `dirty`.
   */
  start(firstSeq: number, head: Uint8Array, mode: FsyncMode, dirty: boolean): void {
    const last = this.segs.at(-1);
    const gen = last && last.seq === firstSeq ? last.gen + 1 : 0;
    const file = path.join(this.dir, segmentName(firstSeq, gen));
    let fd: number;
    try {
      fd = this.io.open(file, 'ax');
    } catch (err) {
      throw isNoSpace(err) ? diskFullError(file, err) : this.fail(ioFailedError('creating a segment', file, err));
    }
    try {
      writeAll(this.io, fd, [head], head.byteLength);
      if (mode === 'always') this.io.fdatasync(fd);
      // In every mode: the name must outlive a power loss for any of the file's data to be found.
      this.io.fsyncDir(this.dir);
    } catch (err) {
      closeQuietly(this.io, fd);
      unlinkQuietly(this.io, file);
      throw isNoSpace(err) ? diskFullError(file, err) : this.fail(ioFailedError('starting a segment', file, err));
    }
    if (this.fd >= 0) {
      if (dirty) this.unsyncedSealed.add(this.activeFile());
      closeQuietly(this.io, this.fd);
    }
    this.fd = fd;
    this.segs.push({ seq: firstSeq, gen, file });
    this.activeBytes = head.byteLength;
    this.activeMode = mode;
  }

  /**
   * Deletes the oldest segments while the next one starts at or below `seq` (and, when it starts at `seq`, has a
   * generation at or below `gen`); never the active one. Returns how many.
   */
  deleteThrough(seq: number, gen = Infinity): number {
    let n = 0;
    while (this.segs.length > 1 && (this.segs[1].seq < seq || (this.segs[1].seq === seq && this.segs[1].gen <= gen))) {
      const s = this.segs[0];
      try {
        this.io.unlink(s.file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.fail(ioFailedError('unlink', s.file, err));
      }
      this.unsyncedSealed.delete(s.file);
      this.segs.shift();
      n++;
    }
    return n;
  }

  /**
   * Closes the active segment and moves every segment aside to
   * `<name>.broken`, leaving none; their bytes are added to `report`'s
   * `bytesTruncated`. Returns the copies.
   */
  moveAside(report: Pick<RestoreReport, 'bytesTruncated'>): string[] {
    this.closeActive();
    const moved: string[] = [];
    try {
      for (const s of this.segs) {
        const fd = this.io.open(s.file, 'r');
        try {
          report.bytesTruncated += this.io.size(fd); // removed from the log, by a repair
        } finally {
          closeQuietly(this.io, fd);
        }
        moved.push(moveBroken(this.io, s.file));
      }
      if (moved.length > 0) this.io.fsyncDir(this.dir);
    } catch (err) {
      throw this.fail(ioFailedError('moving segments aside', this.dir, err));
    }
    this.segs.length = 0;
    this.unsyncedSealed.clear();
    this.activeBytes = 0;
    this.activeMode = null;
    return moved;
  }

  /** Closes the active segment's descriptor, if open. */
  closeActive(): void {
    if (this.fd >= 0) closeQuietly(this.io, this.fd);
    this.fd = -1;
  }
}
