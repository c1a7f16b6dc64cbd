/**
 * What sizes a partition's memory, and where each region of it starts
 * (layout.ts has the diagram).
 */
import {
  COMMIT_FIELDS, CTL_FIELDS, GAUGE_FIELDS, LINE_BYTES, TABLE_CURSOR_FIELDS,
} from './memory-fields.js';

/** Most records one drain commits between two commit points (bounds the tables' slack). */
export const DRAIN_MAX_RECORDS = 4096;

/** What sizes a partition's memory. All sizes are validated by the store's options. */
export interface PartitionGeometry {
  /** Storage slots (events) in this partition. */
  capacity: number;
  /** Arena bytes for id + key + type + payload of stored events (a multiple of 8). */
  arenaBytes: number;
  /** Input ring bytes (a power of two). */
  inputBytes: number;
  /** Number of declared numeric values. */
  valueCount: number;
  /** Producer slots (coordinator + attached producers). */
  maxProducers: number;
  /** Ack entries per producer. */
  ackCapacity: number;
  /** Caller ids remembered for idempotency (per partition). */
  dedupWindow: number;
  /** Keys with no live event whose last version is remembered (per partition). */
  dormantKeys: number;
}

/** Physical entries of the key directory ring: the bound, plus what one drain or purge may add before it is trimmed. */
export function dirSlots(g: PartitionGeometry): number {
  return g.dormantKeys + g.capacity + DRAIN_MAX_RECORDS;
}

/** Physical entries of the dedup ring: the window, plus what one drain may add before it is trimmed. */
export function dedupSlots(g: PartitionGeometry): number {
  return g.dedupWindow + DRAIN_MAX_RECORDS;
}

/** Byte offsets of each region, computed once from a geometry. */
export interface PartitionOffsets {
  ctl: number;
  commit: number;
  gauge: number;
  tables: number;
  input: number;
  acks: number;
  ackStride: number;
  seq: number;
  sum: number;
  keyId: number;
  typeId: number;
  flags: number;
  idLen: number;
  keyLen: number;
  typeLen: number;
  payloadLen: number;
  pos: number;
  ts: number;
  ver: number;
  arenaAbs: number;
  values: number;
  arena: number;
  dirHash: number;
  dirNum: number;
  dedupHash: number;
  dedupNum: number;
  total: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Computes where each region starts. Pure: every thread derives the same offsets. */
export function partitionOffsets(g: PartitionGeometry): PartitionOffsets {
  let at = 0;
  const take = (bytes: number, alignment = LINE_BYTES): number => {
    at = align(at, alignment);
    const start = at;
    at += bytes;
    return start;
  };
  const C = g.capacity;
  const ctl = take(CTL_FIELDS * LINE_BYTES);
  const commit = take(2 * COMMIT_FIELDS * 8);
  const gauge = take(GAUGE_FIELDS * LINE_BYTES);
  const tables = take(TABLE_CURSOR_FIELDS * 8);
  const input = take(g.inputBytes);
  // Each producer's ack ring: a line for head and the next ticket, a line for tail, then entries.
  const ackStride = align(2 * LINE_BYTES + g.ackCapacity * 4 * 8, LINE_BYTES);
  const acks = take(ackStride * g.maxProducers);
  const seq = take(C * 4);
  const sum = take(C * 4);
  const keyId = take(C * 4);
  const typeId = take(C * 4);
  const flags = take(C * 4);
  const idLen = take(C * 4);
  const keyLen = take(C * 4);
  const typeLen = take(C * 4);
  const payloadLen = take(C * 4);
  const pos = take(C * 8);
  const ts = take(C * 8);
  const ver = take(C * 8);
  const arenaAbs = take(C * 8);
  const values = take(Math.max(1, g.valueCount) * C * 8);
  const arena = take(g.arenaBytes);
  const D = dirSlots(g);
  const dirHash = take(D * 2 * 4);
  const dirNum = take(D * 2 * 8);
  const N = dedupSlots(g);
  const dedupHash = take(N * 4 * 4);
  const dedupNum = take(N * 2 * 8);
  const total = align(at, LINE_BYTES);
  return {
    ctl, commit, gauge, tables, input, acks, ackStride, seq, sum, keyId, typeId, flags, idLen, keyLen, typeLen,
    payloadLen, pos, ts, ver, arenaAbs, values, arena, dirHash, dirNum, dedupHash, dedupNum, total,
  };
}
