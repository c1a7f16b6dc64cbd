/**
 * The record codec of the input ring: how a producer frames one event, and
 * where the committer finds each part again. Records are 8-byte aligned and
 * never wrap (input-writer.ts pads the end of the ring instead).
 *
 * ```
 * Int32 words:  [0] LENGTH  [1] KIND|flags  [2] PRODUCER  [3] TICKET  [4] BATCH
 *               [5] KEY_LEN [6] TYPE_LEN    [7] ID_LEN    [8] PAYLOAD_LEN
 * Float64 words: [5] TS  [6] EXPECTED  [7..7+V) declared values
 * bytes after the header and values: id, key, type, payload JSON (UTF-8)
 * ```
 *
 * Invariants:
 * - LENGTH is written last, with one `Atomics.store` (the publish); 0 means
 *   "not published yet" (the worker zeroes released bytes).
 * - A batch (one `append()` of several events, or any conditional append)
 *   is one claim: BATCH on its first record holds the record count, the
 *   others hold 0; the worker commits it only once every record is published.
 * - A record whose text did not fit its claim is published as VOID (skipped);
 *   the producer writes it again with an exact claim.
 */
import { writeUtf8 } from './utf8.js';

/** Input record header, in Int32 words from the record start (records are 8-byte aligned). */
export const Rec = {
  /** Total record bytes; written LAST with Atomics.store (the publish). 0 = not yet published. */
  LENGTH: 0,
  /** Kind and flags, see RecKind / RecFlag. */
  KIND: 1,
  PRODUCER: 2,
  TICKET: 3,
  /** Number of records in an all-or-nothing batch (on its first record), else 1 (0 on the others). */
  BATCH: 4,
  KEY_LEN: 5,
  TYPE_LEN: 6,
  ID_LEN: 7,
  PAYLOAD_LEN: 8,
  /** Float64 words (index from record start / 8). */
  F_TS: 5,
  F_EXPECTED: 6,
  /** First declared value (Float64 word index). */
  F_VALUES: 7,
} as const;
/** Header bytes before the values. */
export const REC_HEADER_BYTES = 56;

export const RecKind = { EVENT: 1, PAD: 2, VOID: 3 } as const;
export const RecFlag = { ACK: 1 << 8, EXPECTED: 1 << 9, CALLER_ID: 1 << 10 } as const;

const encoder = new TextEncoder();

/** Rounds a byte count up to the record alignment. */
export const align8 = (n: number): number => (n + 7) & ~7;

/** Bytes of a record with these parts (UTF-8 byte lengths). */
export function recordBytes(valueCount: number, idBytes: number, keyBytes: number, typeBytes: number, jsonBytes: number): number {
  return align8(REC_HEADER_BYTES + valueCount * 8 + idBytes + keyBytes + typeBytes + jsonBytes);
}

/** Byte offset (from the ring start) of the id/key/type/payload bytes of the record at `off`. */
export function recordTextAt(off: number, valueCount: number): number {
  return off + REC_HEADER_BYTES + valueCount * 8;
}

/** The parts of one event, as a producer encodes them. */
export interface RecordFields {
  kindFlags: number;
  producer: number;
  ticket: number;
  batch: number;
  expected: number;
  ts: number;
  /** Declared values: `vals[valsAt .. valsAt + valueCount)`. */
  vals: Float64Array;
  valsAt: number;
  id: string;
  key: string;
  type: string;
  json: string;
}

/**
 * Writes a record at byte `off` of the input ring (a claim of `need` bytes)
 * and publishes it. Returns false when the text did not fit (the JSON was not
 * ASCII and the claim was sized by characters): the record is then published
 * as VOID and the caller claims again with the exact size.
 */
export function writeRecord(
  inI32: Int32Array, inF64: Float64Array, inU8: Uint8Array, off: number, need: number, valueCount: number, r: RecordFields,
): boolean {
  const w = off >> 2;
  const f = off >> 3;
  inF64[f + Rec.F_TS] = r.ts;
  inF64[f + Rec.F_EXPECTED] = r.expected;
  for (let i = 0; i < valueCount; i++) inF64[f + Rec.F_VALUES + i] = r.vals[r.valsAt + i];
  let p = recordTextAt(off, valueCount);
  const end = off + need;
  const idLen = r.id.length === 0 ? 0 : writeUtf8(inU8, p, r.id, end - p);
  if (idLen > 0) p += idLen;
  const keyLen = idLen < 0 ? -1 : writeUtf8(inU8, p, r.key, end - p);
  if (keyLen > 0) p += keyLen;
  const typeLen = keyLen < 0 ? -1 : writeUtf8(inU8, p, r.type, end - p);
  if (typeLen > 0) p += typeLen;
  let written = 0;
  let fits = typeLen >= 0;
  if (fits) {
    const e = encoder.encodeInto(r.json, inU8.subarray(p, end));
    written = e.written;
    fits = e.read === r.json.length;
  }
  inI32[w + Rec.KIND] = (fits ? RecKind.EVENT : RecKind.VOID) | r.kindFlags;
  inI32[w + Rec.PRODUCER] = r.producer;
  inI32[w + Rec.TICKET] = r.ticket;
  inI32[w + Rec.BATCH] = r.batch;
  inI32[w + Rec.KEY_LEN] = keyLen;
  inI32[w + Rec.TYPE_LEN] = typeLen;
  inI32[w + Rec.ID_LEN] = idLen;
  inI32[w + Rec.PAYLOAD_LEN] = written;
  Atomics.store(inI32, w + Rec.LENGTH, need);
  return fits;
}
