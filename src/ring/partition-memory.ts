import { COMMIT_FIELDS, CTL_FIELDS, Ctl, GAUGE_FIELDS, LINE_INTS, TABLE_CURSOR_FIELDS } from './memory-fields.js';
import {
  dedupSlots, dirSlots, partitionOffsets, type PartitionGeometry, type PartitionOffsets,
} from './partition-geometry.js';

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
  /**
   * The control lines as 64-bit words (index `Ctl.X * 8`), for the counters that a week of traffic would
   * overflow as Int32 (Ctl.REFUSED: a tryAppend flood refuses millions a second, 2^31 in about half an hour).
   */
  readonly i64: BigInt64Array;
  readonly u8: Uint8Array;
  /** The two commit-record blocks, `COMMIT_FIELDS` each. */
  readonly commit: Float64Array;
  readonly gauges: Float64Array;
  readonly tables: Float64Array;
  /** Input ring views (Int32 / Float64 index = byte offset / 4 or / 8 from the ring start). */
  readonly inU8: Uint8Array;
  readonly inI32: Int32Array;
  readonly inF64: Float64Array;
  readonly seq: Int32Array;
  /** Per-slot checksum, written while shared-memory readers are attached (see reader.ts). */
  readonly sum: Int32Array;
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
  /** The arena as 32-bit words (events start 4-byte aligned; slot-checksum.ts sums them a word at a time). */
  readonly arena32: Int32Array;
  /** Key directory ring: hashes (2 per entry) and numbers (version, last position). */
  readonly dirHash: Int32Array;
  readonly dirNum: Float64Array;
  /** Dedup ring: hashes (4 per entry) and numbers (position, version). */
  readonly dedupHash: Int32Array;
  readonly dedupNum: Float64Array;
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
    this.i32 = new Int32Array(sab, o.ctl, CTL_FIELDS * LINE_INTS);
    this.i64 = new BigInt64Array(sab, o.ctl, CTL_FIELDS * (LINE_INTS >> 1));
    this.u8 = new Uint8Array(sab);
    this.commit = new Float64Array(sab, o.commit, 2 * COMMIT_FIELDS);
    this.gauges = new Float64Array(sab, o.gauge, GAUGE_FIELDS * 8);
    this.tables = new Float64Array(sab, o.tables, TABLE_CURSOR_FIELDS);
    this.inU8 = new Uint8Array(sab, o.input, geometry.inputBytes);
    this.inI32 = new Int32Array(sab, o.input, geometry.inputBytes / 4);
    this.inF64 = new Float64Array(sab, o.input, geometry.inputBytes / 8);
    this.seq = new Int32Array(sab, o.seq, C);
    this.sum = new Int32Array(sab, o.sum, C);
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
    this.arena32 = new Int32Array(sab, o.arena, geometry.arenaBytes / 4); // arenaBytes is a multiple of 8; `>> 2` wrapped from 2 GiB
    const D = dirSlots(geometry);
    this.dirHash = new Int32Array(sab, o.dirHash, D * 2);
    this.dirNum = new Float64Array(sab, o.dirNum, D * 2);
    const N = dedupSlots(geometry);
    this.dedupHash = new Int32Array(sab, o.dedupHash, N * 4);
    this.dedupNum = new Float64Array(sab, o.dedupNum, N * 2);
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

  /**
   * A field of the committed state, as of the last commit point. Safe in
   * any thread for statistics (a value may be a commit older than another).
   */
  committed(field: number): number {
    const slot = Atomics.load(this.i32, Ctl.COMMIT_SLOT * LINE_INTS);
    return this.commit[slot * COMMIT_FIELDS + field];
  }

  /**
   * The committed tail, read from TAIL_HI then TAIL_LO. The worker stores LO
   * then HI, so a read racing a commit can only come out lower than the
   * truth (never higher): a safe bound for "is this position committed".
   */
  committedTail(): number {
    const hi = Atomics.load(this.i32, Ctl.TAIL_HI * LINE_INTS);
    const lo = Atomics.load(this.i32, Ctl.TAIL_LO * LINE_INTS) >>> 0;
    return hi * 4294967296 + lo;
  }

  /** Publishes the committed tail for {@link committedTail} (worker only). */
  publishTail(tail: number): void {
    Atomics.store(this.i32, Ctl.TAIL_LO * LINE_INTS, tail % 4294967296 | 0);
    Atomics.store(this.i32, Ctl.TAIL_HI * LINE_INTS, Math.floor(tail / 4294967296));
  }

  /** Counts a tryAppend refused because the input ring was full (a 64-bit word: never wraps in practice). */
  countRefused(): void {
    Atomics.add(this.i64, Ctl.REFUSED * (LINE_INTS >> 1), 1n);
  }

  /** tryAppend calls refused so far (exact up to 2^53). */
  refused(): number {
    return Number(Atomics.load(this.i64, Ctl.REFUSED * (LINE_INTS >> 1)));
  }

  /** The partition's state (running, stopped, failed). */
  state(): number {
    return Atomics.load(this.i32, Ctl.STATE * LINE_INTS);
  }
}
