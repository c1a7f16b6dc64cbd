import { randomInt } from 'node:crypto';
import { RingstoreError } from '../errors.js';
import { AckRingWriter, AckStatus } from '../ring/ack-ring.js';
import { CommitRecord } from '../ring/commit-record.js';
import { InputReader } from '../ring/input-reader.js';
import {
  Commit, ControlMemory, Ctl, DRAIN_MAX_RECORDS, Gauge, PartitionMemory, SlotFlag, TableCursor,
} from '../ring/layout.js';
import type { RawEvent } from '../ring/reader.js';
import { Rec, RecFlag, RecKind, recordTextAt } from '../ring/record.js';
import { readUtf8 } from '../ring/utf8.js';
import { slotChecksum } from '../ring/slot-checksum.js';
import { DedupWindow } from './dedup-window.js';
import { EventIds, ID_BYTES } from './event-ids.js';
import { TableHash } from './hash.js';
import { KeyDirectory } from './key-directory.js';
import { KeyTable, TypeTable, type KeyState } from './name-tables.js';
import { WindowBuckets } from './window-buckets.js';

const C_CRASH_AT = PartitionMemory.ctl(Ctl.CRASH_AT);
const C_CRASH_AFTER_FLIP = PartitionMemory.ctl(Ctl.CRASH_AFTER_FLIP);
const C_PURGING = PartitionMemory.ctl(Ctl.PURGING);
const C_READERS = PartitionMemory.ctl(Ctl.READERS);
const C_SUMMED = PartitionMemory.ctl(Ctl.SUMMED);
const C_STALLED = PartitionMemory.ctl(Ctl.STALLED);
const RATE_SECONDS = 10;

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
 * tentative until {@link commitPoint} flips the commit record
 * (commit-record.ts). Evictions are the only effects that survive a crash
 * before the flip, which is why a key's version goes to the key directory
 * before its last slot is cleared. Given the committed state, a drain's
 * outcome (statuses, positions, versions) does not depend on anything a
 * crashed run of it left behind, so a restarted worker re-commits the same
 * records to the same positions (committer-recovery.ts).
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
  private readonly ids = new EventIds();
  /** Commit time of the current drain (ids use it; read once per drain). */
  private batchMs = 0;
  /** Drains so far: a key first written in this drain remembers its committed version (see retireKey). */
  private drainEpoch = 0;
  private readonly C: number;
  private readonly A: number;
  private readonly V: number;
  private readonly mask: number;
  /** Committed tail at the start of the current drain (positions at or after it are tentative). */
  private committedTail = 1;
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
  private readonly rate = new Float64Array(RATE_SECONDS);
  private rateSecond = 0;
  private lastAppend = 0;
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
  private dieAfterFlip = false;
  /** Fault injection: die once the drain's evicted copies are handed over (Ctl.CRASH_AFTER_FLIP = 2). */
  private dieAfterSend = false;
  /** The durable log, when the partition has one. */
  journal: Journal | null = null;
  /** Replaying a durable log: no acks, no journal, the drain's recorded commit time. */
  private replaying = false;
  /** While committing a logged drain again: its end cursor (the drain stops there). */
  private drainTo: number | null = null;

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
    this.updateSumming();
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
        else process.exit(1);
      }
    }
    if (n > 0) {
      if (this.journal !== null && !this.replaying) {
        this.journal.drain(this.serial + 1, this.batchMs, this.ids.prefix, start, head, this.committedTail, this.tailPos);
        if (crashAt < 0 && n >= -crashAt) {
          // Fault injection: die after the drain is in the log, before its commit point.
          Atomics.store(m.i32, C_CRASH_AT, 0);
          process.exit(1);
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
      this.sendEvictions();
      if (this.dieAfterSend) this.dieNow(); // a drain that evicted nothing dies here, still before its commit point
      this.commitPoint(head);
    }
    return n;
  }

  /**
   * Consumes up to `max` published records without committing them: every
   * append among them is refused with `status` (the durable log cannot take
   * them: disk full, I/O error). Counted as rejected. Returns how many.
   */
  refuse(max: number, status: number): number {
    const m = this.mem;
    const inI32 = m.inI32;
    const input = this.input;
    const start = input.head;
    let head = start;
    let n = 0;
    while (n < max && ((head - start) >>> 0) < input.capacity) {
      const len = input.lengthAt(head);
      if (len === 0) break;
      const w = (head & this.mask) >> 2;
      const kindFlags = inI32[w + Rec.KIND];
      if ((kindFlags & 0xff) === RecKind.EVENT) {
        const producer = inI32[w + Rec.PRODUCER];
        if (kindFlags & RecFlag.ACK && this.acks.room(producer) < 1) break;
        this.appended++;
        this.rejected++;
        if (kindFlags & RecFlag.ACK) this.acks.write(producer, inI32[w + Rec.TICKET], status, 0, 0);
      }
      head = (head + len) | 0;
      n++;
    }
    if (n > 0) this.commitPoint(head);
    return n;
  }

  /**
   * Replays one drain of a durable log: its input bytes go back into the
   * (empty) input ring at their cursors, and are drained again with the
   * drain's commit time and id prefix, so positions, versions and ids come
   * out as they did. Throws if they do not (the log does not match the state).
   */
  replayDrain(serial: number, batchMs: number, idPrefix: number, start: number, end: number, tailBefore: number, tailAfter: number, bytes: Uint8Array): void {
    const m = this.mem;
    const input = this.input;
    if (tailBefore !== this.tailPos || ((end - start) >>> 0) !== bytes.length || bytes.length > input.capacity) {
      throw new RingstoreError('RS_ERR_LOG_CORRUPT', `a drain of the log does not follow the state (serial ${serial}: tail ${tailBefore}, state ${this.tailPos})`, { serial });
    }
    input.reset(start);
    const a = start & this.mask;
    const first = Math.min(bytes.length, input.capacity - a);
    m.inU8.set(bytes.subarray(0, first), a);
    if (first < bytes.length) m.inU8.set(bytes.subarray(first), 0);
    this.replaying = true;
    this.batchMs = batchMs;
    this.ids.setPrefix(idPrefix);
    this.serial = serial - 1;
    try {
      while (((input.head - start) >>> 0) < bytes.length) {
        if (this.drain(DRAIN_MAX_RECORDS) === 0) break;
      }
    } finally {
      this.replaying = false;
    }
    if (input.head !== end || this.tailPos !== tailAfter) {
      throw new RingstoreError('RS_ERR_LOG_CORRUPT', `replaying drain ${serial} gave positions up to ${this.tailPos - 1}, the log says ${tailAfter - 1}`, { serial });
    }
  }

  /**
   * Commits again, in place, a drain the log holds but the memory does not
   * (the worker died between the two): its records are still in the input
   * ring from `start` to `end`.
   */
  redrain(serial: number, batchMs: number, idPrefix: number, start: number, end: number, tailBefore: number, tailAfter: number): void {
    if (this.input.head !== start || tailBefore !== this.tailPos) {
      throw new RingstoreError('RS_ERR_LOG_CORRUPT', `the last drain of the log (serial ${serial}) does not follow the partition's memory`, { serial });
    }
    this.replaying = true;
    this.batchMs = batchMs;
    this.ids.setPrefix(idPrefix);
    this.serial = serial - 1;
    try {
      this.drainTo = end;
      this.drain(DRAIN_MAX_RECORDS);
    } finally {
      this.replaying = false;
      this.drainTo = null;
    }
    if (this.input.head !== end || this.tailPos !== tailAfter) {
      throw new RingstoreError('RS_ERR_LOG_CORRUPT', `committing again drain ${serial} gave positions up to ${this.tailPos - 1}, the log says ${tailAfter - 1}`, { serial });
    }
  }

  /** Replays a purge or a clear of a durable log. */
  replayPurge(serial: number, cutoff: number | null): void {
    this.replaying = true;
    this.serial = serial - 1;
    try {
      if (cutoff === null) this.clear();
      else this.purge(cutoff);
    } finally {
      this.replaying = false;
    }
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
    this.makeRoom(position, span);
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

  private setFull(reason: FullReason): void {
    this.full = true;
    this.becameFull = reason;
  }

  /** Evicts the oldest events until `position` has a slot and `bytes` fit in the arena. */
  private makeRoom(position: number, bytes: number): void {
    const C = this.C;
    const A = this.A;
    while (this.headPos <= position - C) this.evictHead();
    let tail = this.arenaTail;
    if (tail % A + bytes > A) tail += A - (tail % A);
    while (this.headPos < position) {
      const s = (this.headPos - 1) % C;
      if (tail + bytes - this.mem.arenaAbs[s] <= A) break;
      if (!this.full && this.mem.pos[s] === this.headPos && this.mem.flags[s] & SlotFlag.LIVE) this.setFull('bytes');
      this.evictHead();
    }
  }

  private evictHead(): void {
    const m = this.mem;
    const s = (this.headPos - 1) % this.C;
    if (m.pos[s] === this.headPos && m.flags[s] & SlotFlag.LIVE) {
      const ks = this.keyById[m.keyId[s]]!;
      this.discarded++;
      this.live--;
      if (this.cfg.captureEvictions) this.evicted.push(this.readEvent(s));
      this.buckets?.remove(m.ts[s], m.values, s, this.C);
      this.typeTable.release(m.typeId[s]);
      dropIndexUpTo(ks, this.headPos);
      // The version goes to the directory before the slot is cleared: a crash in between keeps the key live.
      if (--ks.live === 0) this.retireKey(ks);
      else if (this.headPos < this.committedTail && ks.epoch === this.drainEpoch && ks.baseVersion > 0) {
        // Its last committed event goes while only this drain's (tentative) events keep the key live:
        // a crash now would leave no trace of its committed version, and the re-run would restart it.
        const next = ks.first < ks.positions.length ? ks.positions[ks.first] : Infinity;
        if (next >= this.committedTail) this.dir.record(ks.h0, ks.h1, ks.baseVersion, ks.basePosition);
      }
      // Bump the seqlock before the arena bytes can be overwritten.
      const sq = m.seq[s];
      Atomics.store(m.seq, s, sq + 1);
      m.flags[s] = 0;
      Atomics.store(m.seq, s, sq + 2);
    }
    this.headPos++;
  }

  /**
   * Hands the evicted copies to the coordinator, before the commit point: an
   * eviction is final even if the drain dies (a re-run does not evict again),
   * so the copies must leave this thread as soon as possible; and remembers
   * up to which position they went (EVICTIONS_SENT), so a recovery delivers
   * exactly the evictions no message carried (committer-recovery.ts). In a
   * durable partition, only once the drain's frame is written.
   */
  sendEvictions(): void {
    const ev = this.evicted;
    const lost = this.lostPositions;
    if (this.onEvicted === null || (ev.length === 0 && lost.length === 0)) return;
    const last = Math.max(ev.length > 0 ? ev[ev.length - 1].position : 0, lost.length > 0 ? lost[lost.length - 1] : 0);
    this.evicted = [];
    this.lostPositions = [];
    this.onEvicted(ev, lost);
    if (this.dieAfterSend) this.dieNow();
    this.mem.tables[TableCursor.EVICTIONS_SENT] = last + 1;
  }

  /** Fault injection: ends the thread now (the armed mode is used up). */
  private dieNow(): never {
    Atomics.store(this.mem.i32, C_CRASH_AFTER_FLIP, 0);
    process.exit(1);
  }

  /**
   * Drops a key with no live event left. If its version is tentative (it was
   * written in this drain), its committed version is recorded too, so a crash
   * before the commit point cannot lose it.
   */
  private retireKey(ks: KeyState): void {
    if (ks.lastPosition >= this.committedTail && ks.epoch === this.drainEpoch && ks.baseVersion > 0) {
      this.dir.record(ks.h0, ks.h1, ks.baseVersion, ks.basePosition);
    }
    this.keyTable.retire(ks);
  }

  /** Reads slot s as raw parts (worker thread: no seqlock needed). */
  readEvent(s: number): EvictedEvent {
    const m = this.mem;
    const base = m.arenaBase + (m.arenaAbs[s] % this.A);
    const idLen = m.idLen[s];
    const keyLen = m.keyLen[s];
    const typeLen = m.typeLen[s];
    const values: number[] = [];
    for (let v = 0; v < this.V; v++) values.push(m.values[v * this.C + s]);
    return {
      position: m.pos[s],
      timestamp: m.ts[s],
      version: m.ver[s],
      values,
      id: readUtf8(m.u8, base, idLen),
      key: this.keyNames[m.keyId[s]],
      type: this.typeNames[m.typeId[s]],
      json: readUtf8(m.u8, base + idLen + keyLen + typeLen, m.payloadLen[s]),
    };
  }

  /**
   * Marks live events with timestamp < cutoff as purged, as one commit. Returns how many.
   * A durable log gets the purge first: a purge cannot be rolled back, so one the log refuses (full
   * disk) must not have begun. The frame alone is enough to redo it (a replay, or a restarted worker).
   */
  purge(cutoff: number): number {
    if (this.journal !== null && !this.replaying) this.journal.purge(this.serial + 1, cutoff);
    const n = this.purgeSlots(cutoff);
    this.commitPoint(this.input.head);
    Atomics.store(this.mem.i32, C_PURGING, 0);
    return n;
  }

  /** Removes every event (counted as purged), as one commit. Key versions (in the directory) and ids are kept. */
  clear(): number {
    if (this.journal !== null && !this.replaying) this.journal.clear(this.serial + 1); // first, as in purge
    const n = this.purgeSlots(Infinity);
    this.headPos = this.tailPos;
    this.buckets?.clear();
    this.commitPoint(this.input.head);
    Atomics.store(this.mem.i32, C_PURGING, 0);
    return n;
  }

  /** The work of a purge, without its commit point (PURGING stays set until the caller's). */
  private purgeSlots(cutoff: number): number {
    const m = this.mem;
    const C = this.C;
    Atomics.store(m.i32, C_PURGING, 1);
    // Pass 1: what goes, per key (nothing changes yet).
    const gone = new Map<KeyState, { n: number; newest: boolean }>();
    for (let pos = this.headPos; pos < this.tailPos; pos++) {
      const s = (pos - 1) % C;
      if (m.pos[s] !== pos || !(m.flags[s] & SlotFlag.LIVE) || !(m.ts[s] < cutoff)) continue;
      const ks = this.keyById[m.keyId[s]]!;
      const g = gone.get(ks) ?? { n: 0, newest: false };
      g.n++;
      if (pos === ks.lastPosition) g.newest = true;
      gone.set(ks, g);
    }
    // Versions go to the directory first (a crash mid-purge keeps the purged slots purged).
    for (const [ks, g] of gone) {
      if (g.n === ks.live) continue; // retired below, which records it
      if (g.newest) this.dir.record(ks.h0, ks.h1, ks.version, ks.lastPosition);
    }
    // Pass 2: mark the slots.
    let n = 0;
    for (let pos = this.headPos; pos < this.tailPos; pos++) {
      const s = (pos - 1) % C;
      if (m.pos[s] !== pos || !(m.flags[s] & SlotFlag.LIVE) || !(m.ts[s] < cutoff)) continue;
      const ks = this.keyById[m.keyId[s]]!;
      this.buckets?.remove(m.ts[s], m.values, s, C);
      this.typeTable.release(m.typeId[s]);
      if (--ks.live === 0) this.keyTable.retire(ks);
      const sq = m.seq[s];
      Atomics.store(m.seq, s, sq + 1);
      m.flags[s] = (m.flags[s] & ~SlotFlag.LIVE) | SlotFlag.PURGED;
      Atomics.store(m.seq, s, sq + 2);
      n++;
    }
    // Leading purged slots can go at once, so the head tracks the oldest live event.
    while (this.headPos < this.tailPos) {
      const s = (this.headPos - 1) % C;
      if (m.pos[s] === this.headPos && m.flags[s] & SlotFlag.LIVE) break;
      this.headPos++;
    }
    for (const ks of this.keyTable.byName.values()) dropIndexUpTo(ks, this.headPos - 1);
    this.live -= n;
    this.purged += n;
    if (this.live < C) this.full = false;
    return n;
  }

  /**
   * The commit point: writes the commit record and flips it, then trims the
   * tables to their bounds, releases the consumed input and rings the
   * producers whose acks were written. Recovery's commit point does not
   * trim: the crashed drain saw the tables untrimmed, and its re-run must too
   * (or a key whose version the acks already named could be forgotten first).
   */
  commitPoint(inputEnd: number, trim = true): void {
    const r = this.record.next;
    r[Commit.TAIL_POS] = this.tailPos;
    r[Commit.HEAD_POS] = this.headPos;
    r[Commit.APPENDED] = this.appended;
    r[Commit.DISCARDED] = this.discarded;
    r[Commit.REJECTED] = this.rejected;
    r[Commit.PURGED] = this.purged;
    r[Commit.LIVE] = this.live;
    r[Commit.DUPLICATES] = this.duplicates;
    r[Commit.CONFLICTS] = this.conflicts;
    r[Commit.INPUT] = inputEnd;
    r[Commit.ARENA_TAIL] = this.arenaTail;
    r[Commit.SUMMED_FROM] = this.summedFrom;
    r[Commit.KEYS] = this.keyTable.size;
    r[Commit.DORMANT_KEYS] = Math.min(this.dir.size, this.mem.geometry.dormantKeys);
    r[Commit.DEDUP_IDS] = Math.min(this.dedup.count, this.mem.geometry.dedupWindow);
    r[Commit.SERIAL] = ++this.serial;
    this.record.commit();
    this.committedTail = this.tailPos;
    if (this.dieAfterFlip) {
      Atomics.store(this.mem.i32, C_CRASH_AFTER_FLIP, 0);
      process.exit(1);
    }
    if (trim) {
      this.dedup.trim();
      this.dir.trim();
    }
    // No trim is owed for this serial: recovery trims only when the worker died between the flip and here.
    this.mem.tables[TableCursor.TRIMMED] = this.serial;
    this.input.release(inputEnd);
    this.acks.notify();
    this.publishGauges();
  }

  /**
   * Turns slot checksums on while shared-memory readers are attached (and
   * off when the last one leaves). Turning them on sums every live slot once,
   * then tells readers (Ctl.SUMMED).
   */
  private updateSumming(): void {
    const m = this.mem;
    const readers = Atomics.load(m.i32, C_READERS) > 0;
    if (readers === this.summedFrom > 0) return;
    if (!readers) {
      this.summedFrom = 0;
      Atomics.store(m.i32, C_SUMMED, 0);
      return;
    }
    for (let pos = this.headPos; pos < this.tailPos; pos++) {
      const s = (pos - 1) % this.C;
      if (m.pos[s] === pos) m.sum[s] = slotChecksum(m, s);
    }
    this.summedFrom = Math.max(1, this.headPos);
    Atomics.store(m.i32, C_SUMMED, 1);
    Atomics.notify(m.i32, C_SUMMED);
  }

  /** Turns summing on or off now, outside a drain (readers attaching to an idle partition). */
  syncReaders(): void {
    const was = this.summedFrom;
    this.updateSumming();
    if (was !== this.summedFrom) this.commitPoint(this.input.head, false); // may come before a crashed drain's re-run
  }

  /** Publishes the rate gauges. */
  publishGauges(): void {
    const m = this.mem;
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    const delta = this.appended - this.lastAppend;
    if (sec !== this.rateSecond) {
      const gap = Math.min(RATE_SECONDS, sec - this.rateSecond);
      for (let i = 1; i <= gap; i++) this.rate[(this.rateSecond + i) % RATE_SECONDS] = 0;
      this.rateSecond = sec;
    }
    if (delta > 0) {
      this.rate[sec % RATE_SECONDS] += delta;
      m.gauges[Gauge.LAST_APPEND_MS * 8] = now;
      this.lastAppend = this.appended;
    }
    let total = 0;
    for (let i = 0; i < RATE_SECONDS; i++) total += this.rate[i];
    m.gauges[Gauge.RATE * 8] = total / RATE_SECONDS;
  }
}

/** Drops key-index entries at or below `position` (evicted or purged ahead of the head). */
export function dropIndexUpTo(ks: KeyState, position: number): void {
  const p = ks.positions;
  let first = ks.first;
  while (first < p.length && p[first] <= position) first++;
  if (first > 64 && first * 2 > p.length) {
    p.splice(0, first);
    first = 0;
  }
  ks.first = first;
}
