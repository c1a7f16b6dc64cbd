/**
 * Restore of one partition's log at open: reads every segment once, checks
 * every frame (CRC, header, sequence continuity), hands the good ones to the
 * visitor in order, and decides what the first bad frame F means
 * (durability-notes §4):
 *
 * - Nothing valid follows F anywhere: a torn tail. Cut the log at F.
 * - F's segment was written under `always` (each frame is fsynced before the
 *   next is written, the header included) and something valid follows:
 *   corruption. Refuse.
 * - F's segment was written under `interval`, and a later segment holds a
 *   valid frame: corruption (a segment is fsynced before the next one is
 *   created). Refuse.
 * - Otherwise the valid frames after F are the evidence: if any records a
 *   `durableSeq` at or above the sequence F should start at, F had been
 *   fsynced, so it is corruption (refuse); if none does, F is damage a power
 *   loss left in the unsynced suffix: cut at F and drop what follows (the
 *   point-in-time rule), reporting the bytes and frames dropped. A clean
 *   close writes a fsynced SYNC frame, so after a clean stop any damage is
 *   refused.
 *
 * A gap between segments is treated as a bad frame at the end of the earlier
 * one; an overlap, a frame out of sequence, or a valid frame where a segment
 * header should be is always corruption. Refusing throws
 * {@link LogCorruptError} naming the file and offset; `repair` instead keeps
 * a `.broken` copy of the damaged segment (and moves every later segment to
 * `.broken`) and cuts there.
 */
import * as path from 'node:path';
import { FrameType, SERIAL_MOD, findNextFrame, readFrame } from './frame.js';
import { LogCorruptError } from './errors.js';
import { readAll, type Io } from './io.js';
import { listSegments, parseSegmentHeader, type FsyncMode, type SegmentName } from './segment-format.js';

/** One frame handed to the replay visitor. */
export interface ReplayFrame {
  /** The caller's frame type (16..255). */
  type: number;
  firstSeq: number;
  count: number;
  /** The payload: a view valid only during the visitor call (copy what you keep). */
  payload: Uint8Array;
  /** Segment file and offset of the frame, for messages. */
  file: string;
  offset: number;
}

/** Called for each verified frame, in order. If open then throws, discard what the visitor built. */
export type ReplayVisitor = (frame: ReplayFrame) => void;

/** Where restore cut the log, and why. */
export interface RestoreCut {
  file: string;
  offset: number;
  /** `torn`: an incomplete or damaged last frame; `unsynced`: power-loss damage before unsynced frames; `repaired`: corruption cut by an explicit repair. */
  verdict: 'torn' | 'unsynced' | 'repaired';
  reason: string;
  /** Copies kept by a repair (`.broken` files). */
  brokenCopies: string[];
}

/** What restore found. */
export interface RestoreReport {
  /** Segments kept. */
  segments: number;
  /** Frames replayed (segment headers and sync markers not counted). */
  records: number;
  /** Events in those frames. */
  events: number;
  /** Bytes cut off or removed (a torn tail, unsynced damage, or a repair). */
  bytesTruncated: number;
  /** Valid frames found after the cut and dropped with it, and their events. */
  framesDropped: number;
  eventsDropped: number;
  /** The cut, if any. */
  cut: RestoreCut | null;
  /** First sequence in the log (null: empty). */
  firstSeq: number | null;
  /** Sequence the next frame must start at (null: empty). */
  nextSeq: number | null;
  /** Milliseconds the restore took. */
  ms: number;
}

/** The restored state the writer continues from. */
export interface RestoredLog {
  report: RestoreReport;
  /** Kept segments, oldest first. */
  segments: SegmentName[];
  /** Fsync mode of the last segment (null: no segment). */
  lastMode: FsyncMode | null;
  /** True when the log's last frame is a sync marker (a clean close, nothing after it). */
  endsClean: boolean;
  /** Serial the next frame gets. */
  nextSerial: number;
}

interface Segment {
  seq: number;
  gen: number;
  name: string;
  file: string;
}

interface BadSpot {
  index: number; // segment index
  offset: number;
  expected: number; // sequence the missing or bad frame should start at
  mode: FsyncMode | null; // the segment's mode (null: its header is the bad frame)
  reason: string;
  forceCorrupt: boolean; // not explainable by a crash, whatever follows
}

/** Restores the log in `dir`. See the module comment. */
export function restoreLog(
  dir: string, io: Io, options: { repair?: boolean; dryRun?: boolean; visit?: ReplayVisitor } = {},
): RestoredLog {
  const t0 = performance.now();
  if (!options.dryRun) io.mkdirp(dir);
  else if (!io.exists(dir)) throw new LogCorruptError(dir, 0, 'the log directory does not exist');
  const segs: Segment[] = listSegments(io.readdir(dir)).map((s) => ({ ...s, file: path.join(dir, s.name) }));
  const report: RestoreReport = {
    segments: 0, records: 0, events: 0, bytesTruncated: 0, framesDropped: 0, eventsDropped: 0, cut: null,
    firstSeq: segs.length ? segs[0].seq : null, nextSeq: null, ms: 0,
  };
  const reader = new SegmentReader(io);
  const modes: FsyncMode[] = [];
  let expected = segs.length ? segs[0].seq : 0;
  let bad: BadSpot | null = null;
  let badData: Uint8Array | null = null;
  let lastType = 0;
  let serial = -1; // serial the next frame must carry (-1: any, at the first segment)
  let serialAtSegmentEnd = 0;

  scan: for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const spot = (offset: number, reason: string, forceCorrupt: boolean, data: Uint8Array | null): void => {
      bad = { index: i, offset, expected, mode: modes[i] ?? null, reason, forceCorrupt };
      badData = data;
    };
    if (seg.seq < expected) {
      spot(0, `the segment starts at sequence ${seg.seq} but the previous one runs to ${expected - 1}`, true, null);
      break;
    }
    const data = reader.read(seg.file);
    const head = readFrame(data, 0);
    const missing = seg.seq > expected
      ? `sequences ${expected}..${seg.seq - 1} are missing before ${seg.name}`
      : head.ok && serial >= 0 && head.serial !== serial ? `frames are missing before ${seg.name} (serial ${head.serial}, ${serial} expected)` : null;
    if (missing) {
      // Frames are missing at the end of the previous segment (or a whole file is missing).
      bad = { index: i - 1, offset: reader.sizeOf(segs[i - 1].file), expected, mode: modes[i - 1], reason: missing, forceCorrupt: false };
      serial = serialAtSegmentEnd;
      break;
    }
    if (!head.ok) {
      spot(0, `bad segment header (${head.fault})`, false, data);
      break;
    }
    const header = parseSegmentHeader(data, head, seg.seq);
    if (typeof header === 'string') {
      spot(0, header, true, data);
      break;
    }
    modes.push(header.mode);
    serial = (head.serial + 1) % SERIAL_MOD;
    for (let at = head.next; at < data.byteLength;) {
      const f = readFrame(data, at);
      if (!f.ok) {
        spot(at, `bad frame (${f.fault})`, false, data);
        break scan;
      }
      if (f.type === FrameType.SEGMENT || f.firstSeq !== expected || f.serial !== serial) {
        spot(at, f.type === FrameType.SEGMENT
          ? 'a segment header frame in the middle of a segment'
          : f.firstSeq !== expected
            ? `the frame starts at sequence ${f.firstSeq} but ${expected} was expected`
            : `the frame has serial ${f.serial} but ${serial} was expected`, true, data);
        break scan;
      }
      serial = (serial + 1) % SERIAL_MOD;
      if (f.type === FrameType.SYNC) {
        if (f.count !== 0) {
          spot(at, 'a sync marker with events', true, data);
          break scan;
        }
      } else {
        options.visit?.({
          type: f.type, firstSeq: f.firstSeq, count: f.count, payload: data.subarray(f.payloadStart, f.payloadEnd),
          file: seg.file, offset: at,
        });
        report.records++;
        report.events += f.count;
        expected += f.count;
      }
      lastType = f.type;
      at = f.next;
    }
    serialAtSegmentEnd = serial;
  }

  let kept = segs.length;
  const spot = bad as BadSpot | null;
  if (spot) {
    // The reader's buffer is reused for later segments: keep the damaged one's bytes.
    kept = settle(dir, io, segs, spot, (badData as Uint8Array | null)?.slice() ?? null, reader, report, options);
    expected = spot.expected;
  }
  report.segments = kept;
  report.firstSeq = kept > 0 ? segs[0].seq : null;
  report.nextSeq = kept > 0 ? expected : null;
  report.ms = performance.now() - t0;
  return {
    report,
    segments: segs.slice(0, kept).map(({ seq, gen, name }) => ({ seq, gen, name })),
    lastMode: kept > 0 ? modes[kept - 1] : null,
    endsClean: !spot && lastType === FrameType.SYNC,
    nextSerial: Math.max(serial, 0),
  };
}

/** Classifies the bad spot, cuts or refuses; returns how many segments are kept. */
function settle(
  dir: string, io: Io, segs: Segment[], bad: BadSpot, data: Uint8Array | null, reader: SegmentReader,
  report: RestoreReport, options: { repair?: boolean; dryRun?: boolean },
): number {
  const repair = options.repair === true;
  const seg = segs[bad.index];
  // Every valid frame after the bad spot, in its own segment and in later ones, is evidence.
  const after = { sameSegment: false, laterSegment: false, maxDurable: -1 };
  const collect = (buf: Uint8Array, from: number, same: boolean): void => {
    for (let f = findNextFrame(buf, from); f; f = findNextFrame(buf, f.next)) {
      if (same) after.sameSegment = true;
      else after.laterSegment = true;
      after.maxDurable = Math.max(after.maxDurable, f.durableSeq);
      if (f.type !== FrameType.SEGMENT && f.type !== FrameType.SYNC) {
        report.framesDropped++;
        report.eventsDropped += f.count;
      }
    }
  };
  if (data) collect(data, bad.offset + 8, true);
  for (let j = bad.index + 1; j < segs.length; j++) collect(reader.read(segs[j].file), 0, false);
  const followed = after.sameSegment || after.laterSegment;
  let corrupt: string | null = null;
  if (bad.forceCorrupt) corrupt = bad.reason;
  else if (followed && bad.mode === 'always') corrupt = `${bad.reason}, followed by valid frames in an \`always\` segment`;
  else if (after.laterSegment && bad.mode === 'interval') {
    corrupt = `${bad.reason}, in an \`interval\` segment that was fsynced before the next one was created`;
  } else if (after.maxDurable >= bad.expected) {
    corrupt = `${bad.reason}, but a later frame records sequence ${after.maxDurable} as fsynced`;
  }
  if (corrupt && !repair) {
    report.framesDropped = 0;
    report.eventsDropped = 0;
    throw new LogCorruptError(seg.file, bad.offset, corrupt);
  }

  const cut: RestoreCut = {
    file: seg.file, offset: bad.offset, verdict: corrupt ? 'repaired' : followed ? 'unsynced' : 'torn',
    reason: corrupt ?? bad.reason, brokenCopies: [],
  };

  const size = reader.sizeOf(seg.file);
  report.bytesTruncated += size - bad.offset;
  let kept = bad.index + 1;
  report.cut = cut;
  if (options.dryRun) {
    for (let j = bad.index + 1; j < segs.length; j++) report.bytesTruncated += reader.sizeOf(segs[j].file);
    return bad.offset === 0 ? bad.index : kept;
  }
  if (bad.offset === 0) {
    if (corrupt) cut.brokenCopies.push(moveBroken(io, seg.file));
    else io.unlink(seg.file);
    kept = bad.index;
  } else if (size > bad.offset) {
    if (corrupt) cut.brokenCopies.push(copyBroken(io, seg.file, data ?? reader.read(seg.file)));
    const fd = io.open(seg.file, 'r+');
    try {
      io.ftruncate(fd, bad.offset);
      io.fdatasync(fd);
    } finally {
      io.close(fd);
    }
  }
  for (let j = bad.index + 1; j < segs.length; j++) {
    report.bytesTruncated += reader.sizeOf(segs[j].file);
    if (corrupt) cut.brokenCopies.push(moveBroken(io, segs[j].file));
    else io.unlink(segs[j].file);
  }
  io.fsyncDir(dir);
  return kept;
}

/** Renames a segment to a `.broken` name (a repair keeps what it takes out of the log). */
export function moveBroken(io: Io, file: string): string {
  const to = uniqueBrokenName(io, file);
  io.rename(file, to);
  return to;
}

function uniqueBrokenName(io: Io, file: string): string {
  let name = `${file}.broken`;
  for (let n = 2; io.exists(name); n++) name = `${file}.broken.${n}`;
  return name;
}

/** Writes a durable `.broken` copy of a segment before a repair cuts it. */
function copyBroken(io: Io, file: string, data: Uint8Array): string {
  const to = uniqueBrokenName(io, file);
  const fd = io.open(to, 'wx');
  try {
    let at = 0;
    while (at < data.byteLength) {
      const n = io.writev(fd, [data.subarray(at)]);
      if (n <= 0) throw new Error(`could not write ${to}`);
      at += n;
    }
    io.fdatasync(fd);
  } finally {
    io.close(fd);
  }
  io.fsyncDir(path.dirname(to));
  return to;
}

/** Reads whole segments into one reused buffer (a segment is read once in the normal path). */
class SegmentReader {
  private buf = new Uint8Array(0);
  private readonly sizes = new Map<string, number>();

  constructor(private readonly io: Io) {}

  /** The file's bytes; valid until the next read. */
  read(file: string): Uint8Array {
    const fd = this.io.open(file, 'r');
    try {
      const size = this.io.size(fd);
      this.sizes.set(file, size);
      if (this.buf.byteLength < size) this.buf = new Uint8Array(Math.max(size, this.buf.byteLength * 2));
      return readAll(this.io, fd, this.buf.subarray(0, size));
    } finally {
      this.io.close(fd);
    }
  }

  sizeOf(file: string): number {
    const known = this.sizes.get(file);
    if (known !== undefined) return known;
    const fd = this.io.open(file, 'r');
    try {
      return this.io.size(fd);
    } finally {
      this.io.close(fd);
    }
  }
}
