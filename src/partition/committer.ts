import { randomInt } from 'node:crypto';
import { AckRingWriter, AckStatus } from '../ring/ack-ring.js';
import { CommitRecord } from '../ring/commit-record.js';
import { InputReader } from '../ring/input-reader.js';
import { ControlMemory, Ctl, DRAIN_MAX_RECORDS, FaultFired, PartitionMemory, SlotFlag, TableCursor } from '../ring/layout.js';
import type { RawEvent } from '../ring/reader.js';
import { Rec, RecFlag, RecKind, recordTextAt } from '../ring/record.js';
import { slotChecksum } from '../ring/slot-checksum.js';
import { commitPoint, updateSumming } from './commit-point.js';
import { makeRoom, sendEvictions } from './committer-evictions.js';
import { DedupWindow } from './dedup-window.js';
import { EventIds, ID_BYTES } from './event-ids.js';
import { dieOfFault } from './fault-exit.js';
import { TableHash } from './hash.js';
import { KeyDirectory } from './key-directory.js';
import { KeyTable, TypeTable, type KeyState } from './name-tables.js';
import { RateGauge } from './rate-gauge.js';
import { WindowBuckets } from './window-buckets.js';

const C_CRASH_AT = PartitionMemory.ctl(Ctl.CRASH_AT);
const C_CRASH_AFTER_FLIP = PartitionMemory.ctl(Ctl.CRASH_AFTER_FLIP);
const C_STALLED = PartitionMemory.ctl(Ctl.STALLED);

/** An evicted event as raw parts, sent in batches to the coordinator's onDiscarded. */
export type EvictedEvent = RawEvent;

export interface CommitterConfig {
  partition: number;
  window: { bucketMs: number; buckets: number } | null;
  captureEvictions: boolean;
}

/** Why a partition became full: its slots, or its arena bytes. */
export type FullReason = 'slots' | 'bytes';

/**
 * Where a durable partition writes what it commits, before each commit point
 * (partition-log.ts). A throw (disk full, I/O error) leaves the drain
 * uncommitted: the worker rolls it back and refuses its records.
 */
export interface Journal {
  /** A drain: the input bytes [start, end) it consumed, which committed positions [tailBefore, tailAfter). */
  drain(serial: number, batchMs: number, idPrefix: number, start: number, end: number, tailBefore: number, tailAfter: number): void;
  purge(serial: number, cutoff: number): void;
  clear(serial: number): void;
}

/**
 * The single writer of one partition. Consumes the input ring in claim
 * order, checks preconditions and idempotency, assigns positions and per-key
 * versions, evicts the oldest events, writes slots under a per-slot seqlock,
 * and acks producers. Runs only on the partition's worker thread.
 *
 * Work is committed a drain at a time: everything a drain writes is
 * tentative until the commit point (commit-point.ts) flips the commit record
 * (commit-record.ts). Evictions are the only effects that survive a crash
 * before the flip, which is why a key's version goes to the key directory
 * before its last slot is cleared. Given the committed state, a drain's
 * outcome (statuses, positions, versions) does not depend on anything a
 * crashed run of it left behind, so a restarted worker re-commits the same
 * records to the same positions (committer-recovery.ts).
 *
 * This class holds the committer's state and its drain; the rest works on
 * that state from its own module: evictions (committer-evictions.ts), purge
 * and clear (committer-purge.ts), the durable log's replay and refusals
 * (committer-log.ts), the commit point and slot checksums (commit-point.ts).
 */
export class Committer {
  readonly mem: PartitionMemory;
  readonly cfg: CommitterConfig;
  readonly input: InputReader;
  readonly acks: AckRingWriter;
  readonly record: CommitRecord;
  readonly dir: KeyDirectory;
  readonly dedup: DedupWindow;
  readonly keyTable: KeyTable;
  readonly typeTable = new TypeTable();
  /** Keys with live events by name, for queries. */
  readonly keys: Map<string, KeyState>;
  /** Key states by key id (undefined: a free id). */
  readonly keyById: (KeyState | undefined)[];
  readonly keyNames: string[];
  readonly types: Map<string, number> = this.typeTable.byName;
  readonly typeNames: string[] = this.typeTable.names;
  readonly buckets: WindowBuckets | null;
  readonly hash: TableHash;
  readonly ids = new EventIds();
  /** Commit time of the current drain (ids use it; read once per drain). */
  batchMs = 0;
  /** Drains so far: a key first written in this drain remembers its committed version (see retireKey). */
  drainEpoch = 0;
  readonly C: number;
  readonly A: number;
  readonly V: number;
  readonly mask: number;
  /** Committed tail at the start of the current drain (positions at or after it are tentative). */
  committedTail = 1;
  // Worker-local mirrors of the commit record.
  headPos = 1;
  tailPos = 1;
  arenaTail = 0;
  appended = 0;
  discarded = 0;
  rejected = 0;
  duplicates = 0;
  conflicts = 0;
  purged = 0;
  live = 0;
  /** Positions at or after this carry a slot checksum (0: none). */
  summedFrom = 0;
  full = false;
  /** Appends per second and the last append time, published at each commit point and when idle. */
  readonly rate: RateGauge;
  /** Evicted events of the current drain (when captureEvictions). */
  evicted: EvictedEvent[] = [];
  /** Positions a crashed drain evicted whose bytes it overwrote too (set by recovery; see sendEvictions). */
  lostPositions: number[] = [];
  /** Receives evicted copies (and positions only, after a crash) as soon as a drain is done evicting. */
  onEvicted: ((events: EvictedEvent[], lostPositions: number[]) => void) | null = null;
  /** Set when the partition became full during the drain, and why. */
  becameFull: FullReason | null = null;
  /** Set when a drain stopped because a producer's ack ring had no room. */
  stalled = false;
  /** The producer and the acks the stalled record waits for. */
  private stalledOn = 0;
  private stalledAcks = 0;
  /** Commit points so far (Commit.SERIAL). */
  serial = 0;
  /** Fault injection: die in the next commit point, after its flip (Ctl.CRASH_AFTER_FLIP). */
  dieAfterFlip = false;
  /** Fault injection: die once the drain's evicted copies are handed over (Ctl.CRASH_AFTER_FLIP = 2). */
  dieAfterSend = false;
  /** The durable log, when the partition has one. */
  journal: Journal | null = null;
  /** Replaying a durable log: no acks, no journal, the drain's recorded commit time. */
  replaying = false;
  /** While committing a logged drain again: its end cursor (the drain stops there). */
  drainTo: number | null = null;

  constructor(mem: PartitionMemory, ctl: ControlMemory, cfg: CommitterConfig) {
    this.mem = mem;
    this.cfg = cfg;
    this.C = mem.geometry.capacity;
    this.A = mem.geometry.arenaBytes;
    this.V = mem.geometry.valueCount;
    this.mask = mem.geometry.inputBytes - 1;
    // The tables' hash seed is drawn once and kept with the partition, so it survives restarts.
    if (mem.tables[TableCursor.SEED] === 0) mem.tables[TableCursor.SEED] = randomInt(1, 2 ** 31);
    this.hash = new TableHash(mem.tables[TableCursor.SEED]);
    this.input = new InputReader(mem);
    this.acks = new AckRingWriter(mem, ctl);
    this.record = new CommitRecord(mem);
    this.dir = new KeyDirectory(mem);
    this.dedup = new DedupWindow(mem);
    this.keyTable = new KeyTable(this.hash, this.dir);
    this.keys = this.keyTable.byName;
    this.keyById = this.keyTable.byId;
    this.keyNames = this.keyTable.names;
    this.buckets = cfg.window ? new WindowBuckets(cfg.window.bucketMs, cfg.window.buckets, this.V) : null;
    this.rate = new RateGauge(mem);
  }

  /** True when a published record waits at the head of the input ring. */
  hasWork(): boolean {
    return this.input.hasWork();
  }

  /**
   * True while the record at the head still waits for its producer to read
   * acks. The worker asks after announcing SLEEPING, because the producer
   * may have read its acks (and found nobody asleep to ring) in between.
   */
  stillStalled(): boolean {
    return this.stalled && this.acks.room(this.stalledOn) < this.stalledAcks;
  }

  /**
   * Commits up to `max` records (at most DRAIN_MAX_RECORDS, and never part
   * of a batch), then the commit point. Returns how many records were consumed.
   */
  drain(max: number): number {
    const m = this.mem;
    const inI32 = m.inI32;
    const input = this.input;
    const start = input.head;
    let head = start;
    let n = 0;
    const cap = input.capacity;
    if (max > DRAIN_MAX_RECORDS) max = DRAIN_MAX_RECORDS;
    const now = Date.now();
    if (now > this.batchMs && !this.replaying) this.batchMs = now; // ids never go back in time
    this.drainEpoch++;
    this.committedTail = this.tailPos;
    if (this.stalled) {
      this.stalled = false;
      Atomics.store(m.i32, C_STALLED, 0);
    }
    updateSumming(this);
    const crashAt = Atomics.load(m.i32, C_CRASH_AT);
    // Stop after one full ring: bytes consumed in this drain are zeroed only at
    // release, so going further would read this drain's first record again.
    while (n < max && ((head - start) >>> 0) < cap && head !== this.drainTo) {
      const len = input.lengthAt(head);
      if (len === 0) break;
      const w = (head & this.mask) >> 2;
      const kindFlags = inI32[w + Rec.KIND];
      if ((kindFlags & 0xff) !== RecKind.EVENT) {
        head = (head + len) | 0;
        n++;
        continue;
      }
      const batch = inI32[w + Rec.BATCH];
      const acks = kindFlags & RecFlag.ACK ? (batch > 1 ? batch : 1) : 0;
      if (acks > 0 && !this.replaying && this.acks.room(inI32[w + Rec.PRODUCER]) < acks) {
        // The producer reads its acks, sees STALLED and rings; then this record goes on.
        this.stalled = true;
        this.stalledOn = inI32[w + Rec.PRODUCER];
        this.stalledAcks = acks;
        Atomics.store(m.i32, C_STALLED, 1);
        if (this.acks.room(inI32[w + Rec.PRODUCER]) < acks) break;
        this.stalled = false;
        Atomics.store(m.i32, C_STALLED, 0);
        continue;
      }
      if (batch > 1 || kindFlags & RecFlag.EXPECTED) {
        if (n > 0 && n + batch > max) break; // a batch is never split across commit points
        const end = input.batchEnd(head, batch);
        if (end === null) break; // the rest of the batch is not published yet
        this.commitBatch(head, batch);
        head = end;
        n += batch;
      } else {
        this.commitOne(head, kindFlags, false);
        head = (head + len) | 0;
        n++;
      }
      if (crashAt > 0 && n >= crashAt && !this.replaying) {
        // Fault injection (tests, chaos drills): die mid-drain, before the commit point; or, asked so, in the
        // commit point, after its flip and before its trim.
        Atomics.store(m.i32, C_CRASH_AT, 0);
        const mode = Atomics.load(m.i32, C_CRASH_AFTER_FLIP);
        if (mode === 1) this.dieAfterFlip = true;
        else if (mode === 2) this.dieAfterSend = true;
        else dieOfFault(m, FaultFired.MID_DRAIN);
      }
    }
    if (n > 0) {
      if (this.journal !== null && !this.replaying) {
        this.journal.drain(this.serial + 1, this.batchMs, this.ids.prefix, start, head, this.committedTail, this.tailPos);
        if (crashAt < 0 && n >= -crashAt) {
          // Fault injection: die after the drain is in the log, before its commit point.
          Atomics.store(m.i32, C_CRASH_AT, 0);
          dieOfFault(m, FaultFired.LOG_WRITE);
        }
      }
      if (crashAt !== 0 && !this.replaying) {
        // Fault injection: a drain that did not reach the count leaves the rest armed, so the records of one
        // append split over two drains (the worker was awake while they were published) still meet it.
        const left = crashAt > 0 ? crashAt - n : crashAt + n;
        if (crashAt > 0 ? left > 0 : left < 0) Atomics.compareExchange(m.i32, C_CRASH_AT, crashAt, left);
      }
      // After the durable log has the drain: a process killed before the write restores the evicted events
      // live, so reporting them earlier would report evictions that never happened (test/durability/evict-kill).
      sendEvictions(this);
      // A drain that had nothing to hand over dies here, still before its commit point (counted apart: the
      // kill did not test what afterEvictions is for).
      if (this.dieAfterSend) this.dieNow(FaultFired.NO_EVICTIONS);
      commitPoint(this, head);
    }
    return n;
  }

  /** Commits an all-or-nothing batch: the first record carries the precondition for all. */
  private commitBatch(head: number, count: number): void {
    const m = this.mem;
    const w0 = (head & this.mask) >> 2;
    const off0 = head & this.mask;
    const keyStart = recordTextAt(off0, this.V) + m.inI32[w0 + Rec.ID_LEN];
    const ks = this.keyTable.stateAt(m.inU8, keyStart, m.inI32[w0 + Rec.KEY_LEN]);
    const expected = m.inF64[(off0 >> 3) + Rec.F_EXPECTED];
    const ok = !(m.inI32[w0 + Rec.KIND] & RecFlag.EXPECTED) || ks.version === expected;
    let at = head;
    for (let i = 0; i < count; i++) {
      const w = (at & this.mask) >> 2;
      const flags = m.inI32[w + Rec.KIND];
      if (ok) this.commitOne(at, flags, true);
      else {
        this.appended++;
        this.rejected++;
        this.conflicts++;
        if (flags & RecFlag.ACK && !this.replaying) this.acks.write(m.inI32[w + Rec.PRODUCER], m.inI32[w + Rec.TICKET], AckStatus.CONFLICT, 0, ks.version);
      }
      at = (at + m.inI32[w + Rec.LENGTH]) | 0;
    }
    if (ks.live === 0) this.keyTable.drop(ks); // a key looked up only to be refused
  }

  /** Commits one record (preconditions of a batch were checked by the caller). */
  private commitOne(cursor: number, flags: number, checked: boolean): void {
    const m = this.mem;
    const off = cursor & this.mask;
    const w = off >> 2;
    const f = off >> 3;
    const inI32 = m.inI32;
    const idLen = inI32[w + Rec.ID_LEN];
    const keyLen = inI32[w + Rec.KEY_LEN];
    const typeLen = inI32[w + Rec.TYPE_LEN];
    const payloadLen = inI32[w + Rec.PAYLOAD_LEN];
    const bytesAt = recordTextAt(off, this.V);
    const producer = inI32[w + Rec.PRODUCER];
    const ticket = inI32[w + Rec.TICKET];
    const wantsAck = (flags & RecFlag.ACK) !== 0 && !this.replaying;
    this.appended++;

    const ks = this.keyTable.stateAt(m.inU8, bytesAt + idLen, keyLen);
    let idHash: Int32Array | null = null;
    if (flags & RecFlag.CALLER_ID) {
      idHash = this.hash.pair(m.inU8, bytesAt + idLen, keyLen, bytesAt, idLen);
      const e = this.dedup.find(idHash);
      if (e >= 0) {
        this.rejected++;
        this.duplicates++;
        if (wantsAck) this.acks.write(producer, ticket, AckStatus.DUPLICATE, this.dedup.position(e), this.dedup.version(e));
        if (ks.live === 0) this.keyTable.drop(ks);
        return;
      }
    }
    const storedIdLen = idLen === 0 ? ID_BYTES : idLen;
    const bytes = storedIdLen + keyLen + typeLen + payloadLen;
    const span = (bytes + 3) & ~3; // arena records start 4-byte aligned (slot-checksum.ts)
    if ((!checked && flags & RecFlag.EXPECTED && ks.version !== m.inF64[f + Rec.F_EXPECTED]) || span > this.A) {
      // A conflict, or (never from our producers, which check sizes) a record larger than the arena.
      this.rejected++;
      const tooLarge = span > this.A;
      if (!tooLarge) this.conflicts++;
      if (wantsAck) this.acks.write(producer, ticket, tooLarge ? AckStatus.TOO_LARGE : AckStatus.CONFLICT, 0, ks.version);
      if (ks.live === 0) this.keyTable.drop(ks);
      return;
    }

    if (ks.epoch !== this.drainEpoch) {
      // First write of the key in this drain: remember its committed version (see retireKey).
      ks.epoch = this.drainEpoch;
      ks.baseVersion = ks.version;
      ks.basePosition = ks.lastPosition;
    }
    const position = this.tailPos;
    const version = ks.version + 1;
    // Counted live before making room: evicting the key's own last event must not retire it.
    ks.live++;
    makeRoom(this, position, span);
    // Events never wrap in the arena: skip to its start when the rest of the arena is too short.
    if (this.arenaTail % this.A + span > this.A) this.arenaTail += this.A - (this.arenaTail % this.A);
    const s = (position - 1) % this.C;
    const seq = m.seq;
    const sq = seq[s];
    Atomics.store(seq, s, sq + 1); // odd: being written
    m.pos[s] = position;
    m.ts[s] = m.inF64[f + Rec.F_TS];
    m.ver[s] = version;
    m.keyId[s] = ks.id;
    m.typeId[s] = this.typeTable.acquireAt(m.inU8, bytesAt + idLen + keyLen, typeLen);
    m.flags[s] = SlotFlag.LIVE | (idHash !== null ? SlotFlag.CALLER_ID : 0);
    m.idLen[s] = storedIdLen;
    m.keyLen[s] = keyLen;
    m.typeLen[s] = typeLen;
    m.payloadLen[s] = payloadLen;
    m.arenaAbs[s] = this.arenaTail;
    const V = this.V;
    for (let v = 0; v < V; v++) m.values[v * this.C + s] = m.inF64[f + Rec.F_VALUES + v];
    let dst = m.arenaBase + (this.arenaTail % this.A);
    if (idLen === 0) {
      this.ids.write(m.u8, dst, this.batchMs, position);
      dst += ID_BYTES;
    }
    const src = m.inputBase + bytesAt;
    m.u8.copyWithin(dst, src, src + idLen + keyLen + typeLen + payloadLen);
    if (this.summedFrom > 0) m.sum[s] = slotChecksum(m, s);
    Atomics.store(seq, s, sq + 2); // even: published

    this.arenaTail += span;
    this.tailPos = position + 1;
    ks.version = version;
    ks.lastPosition = position;
    ks.positions.push(position);
    this.live++;
    if (idHash !== null) this.dedup.remember(idHash, position, version);
    this.buckets?.add(m.ts[s], m.values, s, this.C);
    if (wantsAck) this.acks.write(producer, ticket, AckStatus.OK, position, version);
    if (!this.full && this.live >= this.C) this.setFull('slots');
  }

  setFull(reason: FullReason): void {
    this.full = true;
    this.becameFull = reason;
  }

  /** Fault injection: ends the thread now (the armed mode is used up), counting where (a FaultFired kind). */
  dieNow(kind: number): never {
    Atomics.store(this.mem.i32, C_CRASH_AFTER_FLIP, 0);
    dieOfFault(this.mem, kind);
  }
}
