/**
 * The shared memory layout of one partition. Everything a partition's
 * producers, its worker and its readers share lives in ONE SharedArrayBuffer,
 * so the worker can move payload bytes from the input ring into the arena
 * with `copyWithin` (no allocation, no copy through JS). The diagram, the
 * protocols and their invariants are documented once, in docs/architecture.md;
 * each protocol has its own file in this folder (record.ts, input-writer.ts,
 * input-reader.ts, ack-ring.ts, commit-record.ts, reader.ts).
 *
 * ```
 * ┌─ control ints (Int32, one 64-byte line each) ─────────────────────────┐
 * │ IN_TAIL IN_HEAD SLEEPING DOORBELL COMMIT_SLOT STATE ... TAIL_LO TAIL_HI│
 * ├─ commit record: 2 blocks of Float64 fields, COMMIT_SLOT picks one ────┤
 * ├─ gauges (Float64): RATE  LAST_APPEND_MS ──────────────────────────────┤
 * ├─ table cursors (Float64): key directory and dedup ring head/tail ─────┤
 * ├─ input ring: inputBytes (power of two), 8-byte aligned records ───────┤
 * ├─ ack rings: maxProducers × { head+ticket line, tail line, entries } ──┤
 * ├─ storage columns, capacity C slots each ──────────────────────────────┤
 * │ seq sum keyId typeId flags idLen keyLen typeLen payLen (i32)          │
 * │ pos ts ver arenaAbs (f64) │ values V×C f64                            │
 * ├─ arena: arenaBytes of id + key + type + payload bytes ────────────────┤
 * ├─ key directory ring: dirSlots × { h0 h1 (i32) version lastPos (f64) } ┤
 * ├─ dedup ring: dedupSlots × { h0..h3 (i32) position version (f64) } ────┤
 * └───────────────────────────────────────────────────────────────────────┘
 * ```
 */

/** Int32 words are padded to 64 bytes so producer and worker cursors never share a cache line. */
export const LINE_INTS = 16;
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
  /** Which commit-record block (0 or 1) is the committed state; flipped once per commit. */
  COMMIT_SLOT: 4,
  /** {@link PartitionState}: running, stopped (closed) or failed for good. */
  STATE: 5,
  /** tryAppend calls refused because the input ring was full. */
  REFUSED: 6,
  /** Incremented each time a worker (re)attaches; readers may use it for diagnostics. */
  WORKER_EPOCH: 7,
  /** Set to 1 by the coordinator to ask the worker to stop after draining. */
  STOP: 8,
  /** Bumped (and notified when WATCHERS > 0) after each commit: stats and commit waiters read it. */
  COMMIT_FENCE: 9,
  /** Coordinator threads waiting on COMMIT_FENCE (SSE subscriptions); the worker notifies only then. */
  WATCHERS: 10,
  /** 1 while a purge or clear is being applied (recovery attributes lost live events to it). */
  PURGING: 11,
  /** The committed tail position, low 32 bits (producers settle an ack only below it; see ack-ring.ts). */
  TAIL_LO: 12,
  /** Fault injection for tests: the worker exits after committing this many records of a drain. */
  CRASH_AT: 13,
  /** Attached shared-memory readers: while > 0 the worker writes a checksum per slot. */
  READERS: 14,
  /** 1 once every live slot carries a checksum (readers wait for it). */
  SUMMED: 15,
  /** The committed tail position, high bits (written after TAIL_LO, read before it). */
  TAIL_HI: 16,
  /** 1 while the worker waits for a producer to read its acks (that producer then rings). */
  STALLED: 17,
  /**
   * Fault injection for tests: 1 makes the CRASH_AT drain die just after its commit record flips, before the
   * trim; 2, just after it hands its evicted copies to the coordinator, before it records EVICTIONS_SENT.
   */
  CRASH_AFTER_FLIP: 18,
  /**
   * 1 once the durable log failed with an I/O error: the partition refuses writes (RS_ERR_IO) until the store
   * is reopened. In shared memory, not in the worker, so a restarted worker refuses too instead of writing
   * into a log that failed (fresh memory at the next open clears it).
   */
  LOG_FAILED: 19,
  /**
   * Fault injection for tests: n > 0 makes the durable log's next n fdatasyncs fail with EIO (the worker
   * counts it down): 1 fails a drain's commit sync, 2 also the sync of the truncation that cuts its frame off.
   */
  FAIL_SYNC: 20,
} as const;
const CTL_FIELDS = 21;

/** Values of {@link Ctl.STATE}. */
export const PartitionState = { RUNNING: 0, STOPPED: 1, FAILED: 2 } as const;

/**
 * Fields of a commit-record block (Float64 index within the block). The
 * worker writes the inactive block, then flips Ctl.COMMIT_SLOT: the flip is
 * the commit point of everything done since the last one (see commit-record.ts).
 */
export const Commit = {
  /** Next position to assign; the newest committed event is TAIL_POS - 1. Positions start at 1. */
  TAIL_POS: 0,
  /** Oldest position that may still be live; positions below are gone. */
  HEAD_POS: 1,
  APPENDED: 2,
  DISCARDED: 3,
  REJECTED: 4,
  PURGED: 5,
  LIVE: 6,
  DUPLICATES: 7,
  CONFLICTS: 8,
  /** Input-ring cursor after the last committed record (records before it are done). */
  INPUT: 9,
  /** Absolute arena byte offset where the next event's bytes go. */
  ARENA_TAIL: 10,
  /** Positions at or after this carry a slot checksum (0: none). */
  SUMMED_FROM: 11,
  /** Keys with live events (statistics). */
  KEYS: 12,
  /** Entries of the key directory: keys remembered without live events (statistics). */
  DORMANT_KEYS: 13,
  /** Ids in the idempotency window (statistics). */
  DEDUP_IDS: 14,
  /** Commit points so far: a durable log tags each frame with it, a checkpoint says which it covers. */
  SERIAL: 15,
} as const;
export const COMMIT_FIELDS = 16;

/** Float64 gauges (index = field * 8). */
export const Gauge = {
  RATE: 0,
  LAST_APPEND_MS: 1,
} as const;
const GAUGE_FIELDS = 2;

/** Float64 cursors of the worker's tables (index = field); written only by the worker, except EVICTIONS_DELIVERED. */
export const TableCursor = {
  DIR_HEAD: 0,
  DIR_TAIL: 1,
  DEDUP_HEAD: 2,
  DEDUP_TAIL: 3,
  /** Random seed of the table hashes (two 32-bit halves stored as a number), drawn once per store. */
  SEED: 4,
  /** Evicted events up to this position (exclusive) were handed to the coordinator (recovery delivers the rest). */
  EVICTIONS_SENT: 5,
  /**
   * The commit serial whose commit point owes no trim: set after a commit point trimmed the idempotency
   * window and the key directory (or, in recovery, had nothing to trim). Below the committed serial, the
   * worker died between a flip and its trim, and recovery trims (see committer-recovery.ts).
   */
  TRIMMED: 6,
  /**
   * Evicted events up to this position (exclusive) went through onDiscarded / onDiscardedLost: written by the
   * coordinator after the calls. A durable worker checkpoints only once it reaches EVICTIONS_SENT, so a
   * process killed with reports still queued replays the drains that evicted them (at-least-once).
   */
  EVICTIONS_DELIVERED: 7,
} as const;
const TABLE_CURSOR_FIELDS = 8;

/** Storage slot flags. */
export const SlotFlag = { LIVE: 1, PURGED: 2, CALLER_ID: 4 } as const;

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
    this.arena32 = new Int32Array(sab, o.arena, geometry.arenaBytes >> 2);
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

  /** The partition's state (running, stopped, failed). */
  state(): number {
    return Atomics.load(this.i32, Ctl.STATE * LINE_INTS);
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
