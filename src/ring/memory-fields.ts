/**
 * Field indices of a partition's shared memory (layout.ts): control words,
 * commit-record fields, gauges, table cursors and slot flags.
 */

/** Int32 words are padded to 64 bytes so producer and worker cursors never share a cache line. */
export const LINE_INTS = 16;
export const LINE_BYTES = 64;

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
  /**
   * tryAppend calls refused because the input ring was full: a 64-bit counter, the line's first two Int32 words
   * (PartitionMemory.countRefused/refused). As an Int32 it read negative after 2^31 refusals, which a tryAppend
   * flood reaches in under an hour (test/long-uptime/counters.test.ts).
   */
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
  /**
   * Fault injection for tests: how many times a worker of this partition ended itself on an injected fault, one
   * count per {@link FaultFired} kind (Int32 index FAULTS * LINE_INTS + kind), added just before the exit. Never
   * reset, so they survive restarts: the handle tells from them how a worker died (crashPartition's answer) and
   * a test can count fired kills against the ones it armed (test/stress/scenario.mjs).
   */
  FAULTS: 21,
} as const;
export const CTL_FIELDS = 22;

/** The counters of {@link Ctl.FAULTS}: where an injected fault ended a worker. */
export const FaultFired = {
  /** In a drain, after the armed count of records (crashPartition afterRecords). */
  MID_DRAIN: 0,
  /** Once the drain was in the durable log, before its commit point (afterLogWrite). */
  LOG_WRITE: 1,
  /** In the commit point, after its flip, before its trim (afterCommitPoint). */
  COMMIT_POINT: 2,
  /** Just after the drain handed evicted copies to the coordinator (afterEvictions). */
  EVICTIONS: 3,
  /** Where afterEvictions dies when the drain had nothing to hand over (no eviction): before its commit point. */
  NO_EVICTIONS: 4,
  /** On the worker's `crash` call (crashPartition with no option). */
  RPC: 5,
} as const;
export const FAULT_KINDS = 6;

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
export const GAUGE_FIELDS = 2;

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
export const TABLE_CURSOR_FIELDS = 8;

/** Storage slot flags. */
export const SlotFlag = { LIVE: 1, PURGED: 2, CALLER_ID: 4 } as const;
