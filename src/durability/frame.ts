/**
 * The frame codec of the durable log. A frame is one drain (or one purge,
 * clear or reset), written with one `writev` from a 32-byte header plus the
 * caller's payload parts, with no copy of the payload:
 *
 * ```text
 * offset  size  field
 *  0      4     crc         CRC-32/IEEE of bytes 4 .. paddedEnd (length, header, payload, padding)
 *  4      4     length      header + payload bytes, unpadded (32 .. MAX_FRAME_BYTES)
 *  8      1     type        1 = segment header, 2 = sync marker, 16..255 = the caller's; 0 and 3..15 never valid
 *  9      3     serial      frame number mod 2^24: +1 per frame, across segments
 * 12      4     count       events in the frame (0 for control frames)
 * 16      8     firstSeq    sequence of the first event (u64 LE, at most 2^53 - 1)
 * 24      8     durableSeq  highest sequence fsynced when the frame was written
 * 32      n     payload
 * 32+n    0..7  zero padding to a multiple of 8
 * ```
 *
 * Frames start on 8-byte boundaries, so `crc` and `length` share one 8-byte
 * word that a torn 512-byte sector write cannot split. The CRC covers the
 * length, so a flipped length bit fails the check instead of misplacing the
 * next frame. The serial makes a lost count-0 frame (purge, clear, reset)
 * visible: sequences alone cannot tell it is gone.
 */
import { crc32 } from './crc32.js';

/** Frames start on multiples of this. */
export const FRAME_ALIGN = 8;
/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 32;
/** Largest frame (header + payload, unpadded). */
export const MAX_FRAME_BYTES = 1 << 30;
/** Largest payload of one frame. */
export const MAX_PAYLOAD_BYTES = MAX_FRAME_BYTES - FRAME_HEADER_BYTES;
/** Largest `count` of one frame. */
export const MAX_FRAME_COUNT = 0xffff_ffff;

/**
 * Frame types. `SEGMENT` is the log's own; the others are suggested names for
 * the caller's frames. Any type from {@link FIRST_USER_TYPE} to 255 is valid
 * and replayed as is.
 */
export const FrameType = {
  /** Opens every segment: magic, format version, fsync mode. */
  SEGMENT: 1,
  /**
   * Written (and fsynced) by a clean close, count 0: its `durableSeq` proves
   * everything before it was fsynced, so restore can tell later damage from
   * an unsynced tail in `interval` and `never` segments. Not replayed.
   */
  SYNC: 2,
  /** A drain's committed events. */
  EVENTS: 16,
  /** A purge (count 0). */
  PURGE: 17,
  /** A clear (count 0). */
  CLEAR: 18,
  /** A reset (count 0). */
  RESET: 19,
} as const;

/** Lowest type a caller may append. */
export const FIRST_USER_TYPE = 16;

/** Serials wrap at this. */
export const SERIAL_MOD = 1 << 24;

/** The header fields of a frame. */
export interface FrameFields {
  type: number;
  firstSeq: number;
  count: number;
  durableSeq: number;
  /** Frame number mod 2^24 (default 0). */
  serial?: number;
}

/** The fields read back from a frame. */
export interface ReadFields extends FrameFields {
  serial: number;
}

/** A valid frame found in a buffer. */
export interface DecodedFrame extends ReadFields {
  ok: true;
  /** Offset of the frame in the buffer. */
  offset: number;
  /** Offset of the payload's first byte. */
  payloadStart: number;
  /** Offset just past the payload. */
  payloadEnd: number;
  /** Offset of the next frame (after the padding). */
  next: number;
}

/** Why the bytes at an offset are not a valid frame. */
export type FrameFault =
  | 'incomplete' // the header or the frame runs past the end of the data
  | 'length' // the length is below the header size or above MAX_FRAME_BYTES
  | 'header' // type 0 or 3..15, or a sequence above 2^53 - 1
  | 'crc' // the checksum does not match
  | 'padding'; // the checksum matches but the padding is not zero

/** The bytes at an offset that are not a valid frame. */
export interface BadFrame {
  ok: false;
  offset: number;
  fault: FrameFault;
}

/** Rounds up to the next multiple of {@link FRAME_ALIGN}. */
export function align8(n: number): number {
  return Math.ceil(n / FRAME_ALIGN) * FRAME_ALIGN;
}

/** True for a type the scanner accepts. */
export function isValidType(type: number): boolean {
  return type === FrameType.SEGMENT || type === FrameType.SYNC || (type >= FIRST_USER_TYPE && type <= 255);
}

const ZEROS = new Uint8Array(FRAME_ALIGN);
const TWO32 = 2 ** 32;

function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % TWO32, true);
  view.setUint32(at + 4, Math.floor(value / TWO32), true);
}

// Byte-wise reads: the scanner probes every 8-byte boundary after a bad
// frame, so decoding allocates nothing.
function u32(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/** Reads a u64 as a number; NaN above 2^53 - 1. */
function u64(buf: Uint8Array, at: number): number {
  const hi = u32(buf, at + 4);
  if (hi > 0x1f_ffff) return Number.NaN;
  return hi * TWO32 + u32(buf, at);
}

/** Total payload bytes of `parts`. */
export function partsLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

/** An encoded frame as the pieces to hand to `writev`, in order. */
export interface EncodedFrame {
  /** Header, the caller's parts unchanged, then the padding if any. */
  iov: Uint8Array[];
  /** Bytes of the whole frame, padding included. */
  bytes: number;
}

/**
 * Encodes a frame over `parts` without copying them: the result's `iov` is
 * the header, the parts themselves, and a padding slice. The CRC reads every
 * part. `header` (32 bytes) may be passed to reuse one buffer; it is then part
 * of the result until written. Fields are not validated here (the log does
 * it); {@link readFrame} rejects what it cannot decode.
 */
export function encodeFrame(
  fields: FrameFields,
  parts: readonly Uint8Array[],
  header: Uint8Array = new Uint8Array(FRAME_HEADER_BYTES),
): EncodedFrame {
  const length = FRAME_HEADER_BYTES + partsLength(parts);
  const bytes = align8(length);
  const view = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES);
  view.setUint32(4, length, true);
  view.setUint32(8, (fields.type & 0xff) | (((fields.serial ?? 0) % SERIAL_MOD) << 8), true); // type, then the serial
  view.setUint32(12, fields.count, true);
  writeU64(view, 16, fields.firstSeq);
  writeU64(view, 24, fields.durableSeq);
  let crc = crc32(header.subarray(4, FRAME_HEADER_BYTES));
  for (const p of parts) crc = crc32(p, crc);
  const iov: Uint8Array[] = [header, ...parts];
  if (bytes > length) {
    const pad = ZEROS.subarray(0, bytes - length);
    crc = crc32(pad, crc);
    iov.push(pad);
  }
  view.setUint32(0, crc, true);
  return { iov, bytes };
}

/** Encodes a frame into one new buffer (segment headers, tests). */
export function frameBytes(fields: FrameFields, parts: readonly Uint8Array[]): Uint8Array {
  const { iov, bytes } = encodeFrame(fields, parts);
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const p of iov) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Decodes the frame at `offset` of `buf`, reading nothing at or past `end`.
 * Never throws: any input gives a frame or a {@link BadFrame} with the reason.
 * `offset` must be a multiple of 8 relative to the segment start.
 */
export function readFrame(buf: Uint8Array, offset: number, end: number = buf.byteLength): DecodedFrame | BadFrame {
  const limit = Math.min(end, buf.byteLength);
  if (offset < 0 || limit - offset < FRAME_HEADER_BYTES) return { ok: false, offset, fault: 'incomplete' };
  const length = u32(buf, offset + 4);
  if (length < FRAME_HEADER_BYTES || length > MAX_FRAME_BYTES) return { ok: false, offset, fault: 'length' };
  const padded = align8(length);
  if (padded > limit - offset) return { ok: false, offset, fault: 'incomplete' };
  const type = buf[offset + 8];
  const firstSeq = u64(buf, offset + 16);
  const durableSeq = u64(buf, offset + 24);
  if (!isValidType(type) || Number.isNaN(firstSeq) || Number.isNaN(durableSeq)) {
    return { ok: false, offset, fault: 'header' };
  }
  if (crc32(buf.subarray(offset + 4, offset + padded)) !== u32(buf, offset)) return { ok: false, offset, fault: 'crc' };
  for (let i = offset + length; i < offset + padded; i++) if (buf[i] !== 0) return { ok: false, offset, fault: 'padding' };
  return {
    ok: true,
    offset,
    type,
    count: u32(buf, offset + 12),
    serial: buf[offset + 9] | (buf[offset + 10] << 8) | (buf[offset + 11] << 16),
    firstSeq,
    durableSeq,
    payloadStart: offset + FRAME_HEADER_BYTES,
    payloadEnd: offset + length,
    next: offset + padded,
  };
}

/**
 * The first valid frame at or after `from` (rounded up to 8) and before
 * `end`, or null. Used after a bad frame, to tell crash damage from
 * corruption: a valid frame after a bad one means something was written
 * after it.
 */
export function findNextFrame(buf: Uint8Array, from: number, end: number = buf.byteLength): DecodedFrame | null {
  for (let at = Math.ceil(from / FRAME_ALIGN) * FRAME_ALIGN; at + FRAME_HEADER_BYTES <= end; at += FRAME_ALIGN) {
    const f = readFrame(buf, at, end);
    if (f.ok) return f;
  }
  return null;
}
