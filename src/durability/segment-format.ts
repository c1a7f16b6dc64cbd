/**
 * Segment files: names and the header frame each one opens with.
 *
 * A segment is `<firstSeq>.seg`, the sequence zero-padded to 20 digits so a
 * lexical sort is numeric (Kafka's naming), or `<firstSeq>.<gen>.seg` after a
 * segment that held only count-0 frames. Its first frame has type
 * `SEGMENT`, `firstSeq` equal to the name, `count` 0, and a 24-byte payload:
 *
 * ```text
 *  0  8  magic "RSWALSEG"
 *  8  4  format version (1)
 * 12  1  fsync mode: 0 always, 1 interval, 2 never
 * 13  3  zero
 * 16  8  creation time, ms since the epoch (f64)
 * ```
 *
 * The mode tells restore how much of the segment could have been unsynced
 * (durability-notes §4 rules c and d); opening with another mode starts a new
 * segment, so one segment never mixes modes.
 */
import { FrameType, frameBytes, type DecodedFrame } from './frame.js';

/** How often the log fsyncs. */
export type FsyncMode = 'always' | 'interval' | 'never';

/** Segment format version written by this code. */
export const SEGMENT_FORMAT_VERSION = 1;

const MAGIC = new TextEncoder().encode('RSWALSEG');
const MODES: readonly FsyncMode[] = ['always', 'interval', 'never'];
const HEADER_PAYLOAD_BYTES = 24;

/** File name suffix of segments. */
export const SEGMENT_SUFFIX = '.seg';
const SEGMENT_NAME = /^(\d{20})(?:\.(\d{1,9}))?\.seg$/;

/** A segment file: its first sequence and generation (see {@link segmentName}). */
export interface SegmentName {
  seq: number;
  gen: number;
  name: string;
}

/**
 * The file name of a segment starting at `firstSeq`. A segment that holds
 * only count-0 frames ends where it starts, so the next one starts at the
 * same sequence: it gets generation `gen` 1, 2, ... (`<seq>.<gen>.seg`).
 */
export function segmentName(firstSeq: number, gen = 0): string {
  return `${String(firstSeq).padStart(20, '0')}${gen > 0 ? `.${gen}` : ''}${SEGMENT_SUFFIX}`;
}

/** The first sequence and generation a segment file name stands for, or null for other names. */
export function parseSegmentName(name: string): SegmentName | null {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return null;
  const seq = Number(m[1]);
  const gen = m[2] === undefined ? 0 : Number(m[2]);
  if (!Number.isSafeInteger(seq) || (m[2] !== undefined && gen === 0)) return null;
  return { seq, gen, name };
}

/** The segment files among `names`, in log order (sequence, then generation). */
export function listSegments(names: readonly string[]): SegmentName[] {
  const out: SegmentName[] = [];
  for (const name of names) {
    const s = parseSegmentName(name);
    if (s) out.push(s);
  }
  return out.sort((a, b) => a.seq - b.seq || a.gen - b.gen);
}

/** The header frame of a new segment. */
export function segmentHeaderFrame(firstSeq: number, durableSeq: number, mode: FsyncMode, serial: number, nowMs = Date.now()): Uint8Array {
  const payload = new Uint8Array(HEADER_PAYLOAD_BYTES);
  const view = new DataView(payload.buffer);
  payload.set(MAGIC, 0);
  view.setUint32(8, SEGMENT_FORMAT_VERSION, true);
  payload[12] = MODES.indexOf(mode);
  view.setFloat64(16, nowMs, true);
  return frameBytes({ type: FrameType.SEGMENT, firstSeq, count: 0, durableSeq, serial }, [payload]);
}

/** What a segment's header frame says. */
export interface SegmentHeader {
  mode: FsyncMode;
  version: number;
  createdMs: number;
}

/**
 * Reads a decoded frame as a segment header; a string says what is wrong
 * with it (a valid frame that is not a usable header is corruption).
 */
export function parseSegmentHeader(buf: Uint8Array, frame: DecodedFrame, expectedSeq: number): SegmentHeader | string {
  if (frame.type !== FrameType.SEGMENT) return `the segment does not start with a header frame (type ${frame.type})`;
  if (frame.payloadEnd - frame.payloadStart !== HEADER_PAYLOAD_BYTES || frame.count !== 0) return 'malformed segment header';
  const p = buf.subarray(frame.payloadStart, frame.payloadEnd);
  for (let i = 0; i < MAGIC.length; i++) if (p[i] !== MAGIC[i]) return 'bad segment magic';
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SEGMENT_FORMAT_VERSION) return `segment format version ${version} is not supported (this build reads ${SEGMENT_FORMAT_VERSION})`;
  const mode = MODES[p[12]];
  if (!mode) return `unknown fsync mode ${p[12]} in the segment header`;
  if (frame.firstSeq !== expectedSeq) return `the header says the segment starts at ${frame.firstSeq}, its name says ${expectedSeq}`;
  return { mode, version, createdMs: view.getFloat64(16, true) };
}
