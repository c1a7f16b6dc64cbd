/**
 * The shared memory layout of one partition. Everything a partition's
 * producers, its worker and its readers share lives in ONE SharedArrayBuffer,
 * so the worker can move payload bytes from the input ring into the arena
 * with `copyWithin` (no allocation, no copy through JS). The diagram and the
 * publish protocol are documented once, in docs/architecture.md.
 *
 * ```
 * ┌─ control ints (Int32, one 64-byte line each) ─────────────────────────┐
 * │ IN_TAIL IN_HEAD SLEEPING DOORBELL LAST_INPUT ... STOP COMMIT_FENCE    │
 * ├─ counters (Float64, one line each, published by COMMIT_FENCE) ────────┤
 * │ HEAD_POS  TAIL_POS  APPENDED  DISCARDED  REJECTED  PURGED  LIVE  ...  │
 * ├─ gauges (Float64): RATE  LAST_APPEND_MS ──────────────────────────────┤
 * ├─ input ring: inputBytes (power of two), 8-byte aligned records ───────┤
 * ├─ ack rings: maxProducers × { head, tail, ackCapacity × 4 Float64 } ───┤
 * ├─ storage columns, capacity C slots each ──────────────────────────────┤
 * │ seq[C] i32 │ keyId[C] i32 │ typeId[C] i32 │ flags[C] i32 │ lens 4×i32 │
 * │ pos[C] f64 │ ts[C] f64 │ ver[C] f64 │ arenaAbs[C] f64 │ values V×C f64 │
 * ├─ arena: arenaBytes of id + key + type + payload bytes ────────────────┤
 * └───────────────────────────────────────────────────────────────────────┘
 * ```
 */

/** Int32 words are padded to 64 bytes so producer and worker cursors never share a cache line. */
const LINE_INTS = 16;
const LINE_BYTES = 64;

/** Control words (Int32 index = field * LINE_INTS). */
export const Ctl = {
  /** Producers' claim cursor into the input ring, in bytes, modulo 2^32. */
  IN_TAIL: 0,
  /** Worker's release cursor: bytes before it are free again. */
  IN_HEAD: 1,
  /** 1 while the worker is about to sleep; producers ring the doorbell only then. */
  SLEEPING: 2,
  /** Incremented and notified by a producer to wake a sleeping worker. */
  DOORBELL: 3,
  /** Input cursor of the last record whose commit reached TAIL_POS (restart safety). */
  LAST_INPUT: 4,
  /** 1 once LAST_INPUT is meaningful. */
  LAST_INPUT_SET: 5,
  /** tryAppend calls refused because the input ring was full. */
  REFUSED: 6,
  /** Incremented each time a worker (re)attaches; readers may use it for diagnostics. */
  WORKER_EPOCH: 7,
  /** Set to 1 by the coordinator to ask the worker to stop after draining. */
  STOP: 8,
  /** Bumped after counters are written (release fence for Float64 counters). */
  COMMIT_FENCE: 9,
} as const;
const CTL_FIELDS = 10;

/**
 * Counters, as Float64 (index = field * 8, one line each). The worker writes
 * them with plain stores, then bumps Ctl.COMMIT_FENCE with Atomics.store;
 * readers Atomics.load the fence first. Positions stay exact up to 2^53.
 */
export const Cnt = {
  /** Oldest position that may still be live; positions below are gone. */
  HEAD_POS: 0,
  /** Next position to assign; the newest committed event is TAIL_POS - 1. Positions start at 1. */
  TAIL_POS: 1,
  APPENDED: 2,
  DISCARDED: 3,
  REJECTED: 4,
  PURGED: 5,
  LIVE: 6,
  DUPLICATES: 7,
  CONFLICTS: 8,
} as const;
const CNT_FIELDS = 9;

/** Float64 gauges (index = field * 8). */
export const Gauge = {
  RATE: 0,
  LAST_APPEND_MS: 1,
} as const;
const GAUGE_FIELDS = 2;

/** Input record header, in Int32 words from the record start (records are 8-byte aligned). */
export const Rec = {
  /** Total record bytes; written LAST with Atomics.store (the publish). 0 = not yet published. */
  LENGTH: 0,
  /** Kind and flags, see RecKind / RecFlag. */
  KIND: 1,
  PRODUCER: 2,
  TICKET: 3,
  /** Number of records in an all-or-nothing batch (on its first record), else 1. */
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

/** Storage slot flags. */
export const SlotFlag = { LIVE: 1, PURGED: 2, CALLER_ID: 4 } as const;

/** Ack entry layout: 4 Float64 per entry. */
export const ACK_FIELDS = 4;
export const AckStatus = { OK: 1, DUPLICATE: 2, CONFLICT: 3 } as const;

/** What sizes a partition's memory. All sizes are validated by the store's options. */
export interface PartitionGeometry {
  /** Storage slots (events) in this partition. */
  capacity: number;
  /** Arena bytes for id + key + type + payload of stored events. */
  arenaBytes: number;
  /** Input ring bytes (a power of two). */
  inputBytes: number;
  /** Number of declared numeric values. */
  valueCount: number;
  /** Producer slots (coordinator + attached producers). */
  maxProducers: number;
  /** Ack entries per producer. */
  ackCapacity: number;
}

/** Byte offsets of each region, computed once from a geometry. */
export interface PartitionOffsets {
  ctl: number;
  cnt: number;
  gauge: number;
  input: number;
  acks: number;
  ackStride: number;
  seq: number;
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
  const cnt = take(CNT_FIELDS * LINE_BYTES);
  const gauge = take(GAUGE_FIELDS * LINE_BYTES);
  const input = take(g.inputBytes);
  // Each producer's ack ring: a line for head, a line for tail, then entries.
  const ackStride = align(2 * LINE_BYTES + g.ackCapacity * ACK_FIELDS * 8, LINE_BYTES);
  const acks = take(ackStride * g.maxProducers);
  const seq = take(C * 4);
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
  const total = align(at, LINE_BYTES);
  return {
    ctl, cnt, gauge, input, acks, ackStride, seq, keyId, typeId, flags, idLen, keyLen, typeLen,
    payloadLen, pos, ts, ver, arenaAbs, values, arena, total,
  };
}

/**
 * Typed views over one partition's SharedArrayBuffer. The constructor only
 * attaches views to a given buffer, so every thread rebuilds the same object
 * from the same (buffer, geometry) pair.
 */
export class PartitionMemory {
  readonly sab: SharedArrayBuffer;
  readonly geometry: PartitionGeometry;
  readonly offsets: PartitionOffsets;
  /** Control words; index with `Ctl.X * 16` via {@link ctl}. */
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly f64: Float64Array;
  readonly counters: Float64Array;
  readonly gauges: Float64Array;
  /** Input ring views (Int32 / Float64 index = byte offset / 4 or / 8 from the ring start). */
  readonly inU8: Uint8Array;
  readonly inI32: Int32Array;
  readonly inF64: Float64Array;
  readonly seq: Int32Array;
  readonly keyId: Int32Array;
  readonly typeId: Int32Array;
  readonly flags: Int32Array;
  readonly idLen: Int32Array;
  readonly keyLen: Int32Array;
  readonly typeLen: Int32Array;
  readonly payloadLen: Int32Array;
  readonly pos: Float64Array;
  readonly ts: Float64Array;
  readonly ver: Float64Array;
  readonly arenaAbs: Float64Array;
  /** Value columns, column-major: value v of slot s is `values[v * capacity + s]`. */
  readonly values: Float64Array;
  readonly arena: Uint8Array;
  /** Byte offset of the input ring and the arena within `u8`, for `copyWithin`. */
  readonly inputBase: number;
  readonly arenaBase: number;

  constructor(sab: SharedArrayBuffer, geometry: PartitionGeometry) {
    const o = partitionOffsets(geometry);
    if (sab.byteLength < o.total) throw new RangeError('shared buffer is smaller than its layout');
    const C = geometry.capacity;
    this.sab = sab;
    this.geometry = geometry;
    this.offsets = o;
    this.i32 = new Int32Array(sab, o.ctl, (o.cnt - o.ctl) / 4);
    this.u8 = new Uint8Array(sab);
    this.f64 = new Float64Array(sab, 0, Math.floor(sab.byteLength / 8));
    this.counters = new Float64Array(sab, o.cnt, (o.gauge - o.cnt) / 8);
    this.gauges = new Float64Array(sab, o.gauge, (o.input - o.gauge) / 8);
    this.inU8 = new Uint8Array(sab, o.input, geometry.inputBytes);
    this.inI32 = new Int32Array(sab, o.input, geometry.inputBytes / 4);
    this.inF64 = new Float64Array(sab, o.input, geometry.inputBytes / 8);
    this.seq = new Int32Array(sab, o.seq, C);
    this.keyId = new Int32Array(sab, o.keyId, C);
    this.typeId = new Int32Array(sab, o.typeId, C);
    this.flags = new Int32Array(sab, o.flags, C);
    this.idLen = new Int32Array(sab, o.idLen, C);
    this.keyLen = new Int32Array(sab, o.keyLen, C);
    this.typeLen = new Int32Array(sab, o.typeLen, C);
    this.payloadLen = new Int32Array(sab, o.payloadLen, C);
    this.pos = new Float64Array(sab, o.pos, C);
    this.ts = new Float64Array(sab, o.ts, C);
    this.ver = new Float64Array(sab, o.ver, C);
    this.arenaAbs = new Float64Array(sab, o.arenaAbs, C);
    this.values = new Float64Array(sab, o.values, Math.max(1, geometry.valueCount) * C);
    this.arena = new Uint8Array(sab, o.arena, geometry.arenaBytes);
    this.inputBase = o.input;
    this.arenaBase = o.arena;
  }

  /** Allocates a zeroed buffer for a geometry. */
  static allocate(geometry: PartitionGeometry): PartitionMemory {
    return new PartitionMemory(new SharedArrayBuffer(partitionOffsets(geometry).total), geometry);
  }

  /** Int32 index of a control word. */
  static ctl(field: number): number {
    return field * LINE_INTS;
  }

  /** BigInt64 index of a counter. */
  static cnt(field: number): number {
    return field * 8;
  }

  /** Reads a counter (after an acquire load of the fence). */
  counter(field: number): number {
    Atomics.load(this.i32, Ctl.COMMIT_FENCE * LINE_INTS);
    return this.counters[field * 8];
  }

  /** Writes a counter (worker only); call {@link fence} after a group of writes. */
  setCounter(field: number, value: number): void {
    this.counters[field * 8] = value;
  }

  /** Publishes counter writes to other threads. */
  fence(): void {
    Atomics.add(this.i32, Ctl.COMMIT_FENCE * LINE_INTS, 1);
  }

  /** Int32 view of producer `p`'s ack ring header: [0] = head (producer), [16] = tail (worker). */
  ackHeader(p: number): Int32Array {
    return new Int32Array(this.sab, this.offsets.acks + p * this.offsets.ackStride, 2 * LINE_INTS);
  }

  /** Float64 entries of producer `p`'s ack ring. */
  ackEntries(p: number): Float64Array {
    const g = this.geometry;
    return new Float64Array(this.sab, this.offsets.acks + p * this.offsets.ackStride + 2 * LINE_BYTES, g.ackCapacity * ACK_FIELDS);
  }
}

/** Control buffer shared by the whole store: producer slot ownership and wake-up bells. */
export class ControlMemory {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly maxProducers: number;

  constructor(sab: SharedArrayBuffer, maxProducers: number) {
    this.sab = sab;
    this.maxProducers = maxProducers;
    this.i32 = new Int32Array(sab);
  }

  static allocate(maxProducers: number): ControlMemory {
    return new ControlMemory(new SharedArrayBuffer(ControlMemory.bytes(maxProducers)), maxProducers);
  }

  static bytes(maxProducers: number): number {
    // slot owner flags (one line each) + bells (one line each) + closed flag line
    return (2 * maxProducers + 1) * LINE_BYTES;
  }

  /** Int32 index of producer p's ownership word. */
  ownerIndex(p: number): number {
    return p * LINE_INTS;
  }

  /** Int32 index of producer p's bell (workers add + notify it after writing acks). */
  bellIndex(p: number): number {
    return (this.maxProducers + p) * LINE_INTS;
  }

  /** Int32 index of the store-wide closed flag. */
  get closedIndex(): number {
    return 2 * this.maxProducers * LINE_INTS;
  }
}
