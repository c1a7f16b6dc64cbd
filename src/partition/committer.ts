import {
  ACK_FIELDS, AckStatus, Cnt, ControlMemory, Ctl, Gauge, PartitionMemory, REC_HEADER_BYTES, Rec, RecFlag, RecKind,
  SlotFlag,
} from '../ring/layout.js';
import type { RawEvent } from '../ring/reader.js';
import { readUtf8 } from '../ring/utf8.js';
import { DedupWindow } from './dedup-window.js';
import { EventIds, ID_BYTES } from './event-ids.js';
import { KeyTable, TypeTable, type KeyState } from './name-tables.js';
import { WindowBuckets } from './window-buckets.js';

const C_IN_HEAD = PartitionMemory.ctl(Ctl.IN_HEAD);
const C_LAST_INPUT = PartitionMemory.ctl(Ctl.LAST_INPUT);
const C_LAST_INPUT_SET = PartitionMemory.ctl(Ctl.LAST_INPUT_SET);
const RATE_SECONDS = 10;

/** An evicted event as raw parts, sent in batches to the coordinator's onDiscarded. */
export type EvictedEvent = RawEvent;

export interface CommitterConfig {
  partition: number;
  dedupWindow: number;
  window: { bucketMs: number; buckets: number } | null;
  captureEvictions: boolean;
}

/**
 * The single writer of one partition. Consumes the input ring in claim
 * order, checks preconditions and idempotency, assigns positions and per-key
 * versions, evicts the oldest events, writes slots under a per-slot seqlock,
 * and acks producers through their ack rings. Runs only on the partition's
 * worker thread; all its state is either in shared memory or rebuilt from it
 * on restart (see {@link Committer.recover}).
 */
export class Committer {
  readonly mem: PartitionMemory;
  readonly cfg: CommitterConfig;
  private readonly keyTable = new KeyTable();
  private readonly typeTable = new TypeTable();
  /** Keys by name, for queries. */
  readonly keys: Map<string, KeyState> = this.keyTable.byName;
  readonly keyNames: string[] = this.keyTable.names;
  /** Key states by key id (the key index lives in them). */
  readonly keyById: KeyState[] = this.keyTable.byId;
  readonly types: Map<string, number> = this.typeTable.byName;
  readonly typeNames: string[] = this.typeTable.names;
  readonly buckets: WindowBuckets | null;
  private readonly ctl: ControlMemory;
  private readonly dedup: DedupWindow;
  private readonly ids = new EventIds();
  /** Commit time of the current batch (ids use it; read once per batch). */
  private batchMs = 0;
  private readonly C: number;
  private readonly A: number;
  private readonly V: number;
  private readonly mask: number;
  private readonly ackTails: Int32Array;
  private readonly ackHeaders: Int32Array[] = [];
  private readonly ackRings: Float64Array[] = [];
  private readonly touched: Uint8Array;
  // Mirrors of shared counters (published in batches).
  headPos = 1;
  tailPos = 1;
  private arenaTail = 0;
  private appended = 0;
  private discarded = 0;
  private rejected = 0;
  private duplicates = 0;
  private conflicts = 0;
  private purged = 0;
  live = 0;
  private full = false;
  private inHead = 0;
  private readonly rate = new Float64Array(RATE_SECONDS);
  private rateSecond = 0;
  private lastAppend = 0;
  /** Evicted events of the current batch (when captureEvictions). */
  evicted: EvictedEvent[] = [];
  /** Set when the partition became full during the batch. */
  becameFull = false;

  constructor(mem: PartitionMemory, ctl: ControlMemory, cfg: CommitterConfig) {
    this.mem = mem;
    this.ctl = ctl;
    this.cfg = cfg;
    this.dedup = new DedupWindow(cfg.dedupWindow);
    this.C = mem.geometry.capacity;
    this.A = mem.geometry.arenaBytes;
    this.V = mem.geometry.valueCount;
    this.mask = mem.geometry.inputBytes - 1;
    this.ackTails = new Int32Array(mem.geometry.maxProducers);
    this.touched = new Uint8Array(mem.geometry.maxProducers);
    for (let p = 0; p < mem.geometry.maxProducers; p++) {
      this.ackHeaders.push(mem.ackHeader(p));
      this.ackRings.push(mem.ackEntries(p));
    }
    this.buckets = cfg.window ? new WindowBuckets(cfg.window.bucketMs, cfg.window.buckets, this.V) : null;
  }

  /**
   * Rebuilds worker-local state from shared memory: counters, key versions,
   * type ids, the dedup map and the window buckets. Skips input records that
   * were committed before a crash and re-acks the last one.
   */
  recover(): void {
    const m = this.mem;
    Atomics.load(m.i32, PartitionMemory.ctl(Ctl.COMMIT_FENCE));
    const fresh = m.counters[Cnt.TAIL_POS * 8] === 0;
    if (fresh) {
      m.setCounter(Cnt.HEAD_POS, 1);
      m.setCounter(Cnt.TAIL_POS, 1);
      m.fence();
    }
    this.headPos = m.counters[Cnt.HEAD_POS * 8];
    this.tailPos = m.counters[Cnt.TAIL_POS * 8];
    this.appended = m.counters[Cnt.APPENDED * 8];
    this.discarded = m.counters[Cnt.DISCARDED * 8];
    this.rejected = m.counters[Cnt.REJECTED * 8];
    this.purged = m.counters[Cnt.PURGED * 8];
    this.duplicates = m.counters[Cnt.DUPLICATES * 8];
    this.conflicts = m.counters[Cnt.CONFLICTS * 8];
    for (let p = 0; p < m.geometry.maxProducers; p++) this.ackTails[p] = Atomics.load(m.ackHeader(p), 16);
    this.inHead = Atomics.load(m.i32, C_IN_HEAD);

    // A slot left mid-write (odd seq) was being overwritten: it holds nothing committed.
    let live = 0;
    this.arenaTail = 0;
    for (let pos = this.headPos; pos < this.tailPos; pos++) {
      const s = (pos - 1) % this.C;
      if (m.seq[s] & 1) {
        m.flags[s] = 0;
        Atomics.store(m.seq, s, m.seq[s] + 1);
      }
      if (m.pos[s] !== pos) continue;
      const end = m.arenaAbs[s] + m.idLen[s] + m.keyLen[s] + m.typeLen[s] + m.payloadLen[s];
      if (end > this.arenaTail) this.arenaTail = end;
      if (!(m.flags[s] & SlotFlag.LIVE)) continue;
      live++;
      const base = m.arenaBase + m.arenaAbs[s] % this.A;
      const id = readUtf8(m.u8, base, m.idLen[s]);
      const key = readUtf8(m.u8, base + m.idLen[s], m.keyLen[s]);
      const type = readUtf8(m.u8, base + m.idLen[s] + m.keyLen[s], m.typeLen[s]);
      const ks = this.keyTable.state(key);
      if (m.ver[s] > ks.version) ks.version = m.ver[s];
      m.keyId[s] = ks.id;
      m.typeId[s] = this.typeTable.id(type);
      ks.positions.push(pos);
      if (m.flags[s] & SlotFlag.CALLER_ID) this.dedup.remember(id, pos, m.ver[s]);
      this.buckets?.add(m.ts[s], m.values, s, this.C);
    }
    this.live = live;
    this.full = live >= this.C;

    // Records up to LAST_INPUT were committed already: release them, re-ack the last.
    if (Atomics.load(m.i32, C_LAST_INPUT_SET) === 1) {
      const last = Atomics.load(m.i32, C_LAST_INPUT);
      let head = this.inHead;
      while (((last - head) | 0) >= 0) {
        const w = (head & this.mask) >> 2;
        const len = Atomics.load(m.inI32, w + Rec.LENGTH);
        if (len === 0) break;
        if (head === last && m.inI32[w + Rec.KIND] & RecFlag.ACK) {
          const s = (this.tailPos - 2 + this.C) % this.C;
          this.ack(m.inI32[w + Rec.PRODUCER], m.inI32[w + Rec.TICKET], AckStatus.OK, this.tailPos - 1, m.ver[s]);
        }
        head = (head + len) | 0;
      }
      this.release(head);
    }
    this.publish();
    this.notifyProducers();
  }

  /** True when a published record waits at the head of the input ring. */
  hasWork(): boolean {
    return Atomics.load(this.mem.inI32, ((this.inHead & this.mask) >> 2) + Rec.LENGTH) !== 0;
  }

  /** Commits up to `max` records. Returns how many records were consumed. */
  drain(max: number): number {
    const m = this.mem;
    const inI32 = m.inI32;
    let head = this.inHead;
    let n = 0;
    const cap = this.mask + 1;
    const now = Date.now();
    if (now > this.batchMs) this.batchMs = now; // ids never go back in time
    // Stop after one full ring: bytes consumed in this call are zeroed only at
    // release, so going further would read this batch's first record again.
    while (n < max && ((head - this.inHead) >>> 0) < cap) {
      const w = (head & this.mask) >> 2;
      const len = Atomics.load(inI32, w + Rec.LENGTH);
      if (len === 0) break;
      const kindFlags = inI32[w + Rec.KIND];
      const kind = kindFlags & 0xff;
      if (kind !== RecKind.EVENT) {
        head = (head + len) | 0;
        n++;
        continue;
      }
      const batch = inI32[w + Rec.BATCH];
      if (batch > 1 || kindFlags & RecFlag.EXPECTED) {
        const end = this.batchEnd(head, batch);
        if (end === null) break; // the rest of the batch is not published yet
        this.commitBatch(head, batch);
        head = end;
        n += batch;
        continue;
      }
      this.commitOne(head, kindFlags, false);
      head = (head + len) | 0;
      n++;
    }
    if (n > 0) {
      this.release(head);
      this.publish();
      this.notifyProducers();
    }
    return n;
  }

  /** Cursor after a batch of `count` records, or null if one is unpublished. */
  private batchEnd(head: number, count: number): number | null {
    let at = head;
    for (let i = 0; i < count; i++) {
      const len = Atomics.load(this.mem.inI32, ((at & this.mask) >> 2) + Rec.LENGTH);
      if (len === 0) return null;
      at = (at + len) | 0;
    }
    return at;
  }

  private commitBatch(head: number, count: number): void {
    const m = this.mem;
    const w0 = (head & this.mask) >> 2;
    const off0 = head & this.mask;
    const keyStart = off0 + REC_HEADER_BYTES + this.V * 8 + m.inI32[w0 + Rec.ID_LEN];
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
        if (flags & RecFlag.ACK) this.ack(m.inI32[w + Rec.PRODUCER], m.inI32[w + Rec.TICKET], AckStatus.CONFLICT, 0, ks.version);
      }
      at = (at + m.inI32[w + Rec.LENGTH]) | 0;
    }
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
    const bytesAt = off + REC_HEADER_BYTES + this.V * 8;
    const producer = inI32[w + Rec.PRODUCER];
    const ticket = inI32[w + Rec.TICKET];
    const wantsAck = (flags & RecFlag.ACK) !== 0;
    this.appended++;

    const ks = this.keyTable.stateAt(m.inU8, bytesAt + idLen, keyLen);
    let callerId: string | null = null;
    if (flags & RecFlag.CALLER_ID) {
      callerId = readUtf8(m.inU8, bytesAt, idLen);
      const seen = this.dedup.get(callerId);
      if (seen !== undefined) {
        this.rejected++;
        this.duplicates++;
        if (wantsAck) this.ack(producer, ticket, AckStatus.DUPLICATE, seen.position, seen.version);
        return;
      }
    }
    if (!checked && flags & RecFlag.EXPECTED && ks.version !== m.inF64[f + Rec.F_EXPECTED]) {
      this.rejected++;
      this.conflicts++;
      if (wantsAck) this.ack(producer, ticket, AckStatus.CONFLICT, 0, ks.version);
      return;
    }

    const position = this.tailPos;
    const version = ks.version + 1;
    const storedIdLen = idLen === 0 ? ID_BYTES : idLen;
    const bytes = storedIdLen + keyLen + typeLen + payloadLen;
    this.makeRoom(position, bytes);
    if (this.arenaTail % this.A + bytes > this.A) this.arenaTail += this.A - (this.arenaTail % this.A);
    const s = (position - 1) % this.C;
    const seq = m.seq;
    const sq = seq[s];
    Atomics.store(seq, s, sq + 1); // odd: being written
    m.pos[s] = position;
    m.ts[s] = m.inF64[f + Rec.F_TS];
    m.ver[s] = version;
    m.keyId[s] = ks.id;
    m.typeId[s] = this.typeTable.idAt(m.inU8, bytesAt + idLen + keyLen, typeLen);
    m.flags[s] = SlotFlag.LIVE | (callerId !== null ? SlotFlag.CALLER_ID : 0);
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
    Atomics.store(seq, s, sq + 2); // even: published

    this.arenaTail += bytes;
    this.tailPos = position + 1;
    ks.version = version;
    ks.positions.push(position);
    this.live++;
    if (callerId !== null) this.dedup.remember(callerId, position, version);
    this.buckets?.add(m.ts[s], m.values, s, this.C);
    // Restart safety: TAIL_POS, then LAST_INPUT, then the ack (see recover()).
    m.counters[Cnt.TAIL_POS * 8] = this.tailPos;
    m.counters[Cnt.HEAD_POS * 8] = this.headPos;
    Atomics.store(m.i32, C_LAST_INPUT, cursor);
    if (position === 1 || Atomics.load(m.i32, C_LAST_INPUT_SET) === 0) Atomics.store(m.i32, C_LAST_INPUT_SET, 1);
    if (wantsAck) this.ack(producer, ticket, AckStatus.OK, position, version);
    if (!this.full && this.live >= this.C) {
      this.full = true;
      this.becameFull = true;
    }
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
      this.evictHead();
    }
  }

  private evictHead(): void {
    const m = this.mem;
    const s = (this.headPos - 1) % this.C;
    if (m.pos[s] === this.headPos) {
      // The key index drops its oldest entry (evictions go in position order).
      const ks = this.keyById[m.keyId[s]];
      if (ks !== undefined && ks.positions[ks.first] === this.headPos) {
        ks.first++;
        if (ks.first > 64 && ks.first * 2 > ks.positions.length) {
          ks.positions.splice(0, ks.first);
          ks.first = 0;
        }
      }
    }
    if (m.pos[s] === this.headPos && m.flags[s] & SlotFlag.LIVE) {
      this.discarded++;
      this.live--;
      if (this.cfg.captureEvictions) this.evicted.push(this.readEvent(s));
      this.buckets?.remove(m.ts[s], m.values, s, this.C);
      // Bump the seqlock before the arena bytes can be overwritten.
      const sq = m.seq[s];
      Atomics.store(m.seq, s, sq + 1);
      m.flags[s] = 0;
      Atomics.store(m.seq, s, sq + 2);
    }
    this.headPos++;
    // An eviction makes room for the event being committed: still full, no new transition.
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

  /** Marks live events with timestamp < cutoff as purged. Returns how many. */
  purge(cutoff: number): number {
    const m = this.mem;
    let n = 0;
    for (let pos = this.headPos; pos < this.tailPos; pos++) {
      const s = (pos - 1) % this.C;
      if (m.pos[s] !== pos || !(m.flags[s] & SlotFlag.LIVE) || !(m.ts[s] < cutoff)) continue;
      this.buckets?.remove(m.ts[s], m.values, s, this.C);
      const sq = m.seq[s];
      Atomics.store(m.seq, s, sq + 1);
      m.flags[s] = (m.flags[s] & ~SlotFlag.LIVE) | SlotFlag.PURGED;
      Atomics.store(m.seq, s, sq + 2);
      n++;
    }
    // Leading purged slots can go at once, so the head tracks the oldest live event.
    while (this.headPos < this.tailPos) {
      const s = (this.headPos - 1) % this.C;
      if (m.pos[s] === this.headPos && m.flags[s] & SlotFlag.LIVE) break;
      this.headPos++;
    }
    this.live -= n;
    this.purged += n;
    if (this.live < this.C) this.full = false;
    m.counters[Cnt.HEAD_POS * 8] = this.headPos;
    this.publish();
    return n;
  }

  /** Removes every event (counted as purged). Key versions and the dedup window are kept. */
  clear(): number {
    const n = this.purge(Infinity);
    this.headPos = this.tailPos;
    for (const ks of this.keyById) {
      ks.positions = [];
      ks.first = 0;
    }
    this.mem.counters[Cnt.HEAD_POS * 8] = this.headPos;
    this.buckets?.clear();
    this.publish();
    return n;
  }

  /** Writes an ack into producer p's ack ring. */
  private ack(p: number, ticket: number, status: number, position: number, version: number): void {
    const entries = this.ackRings[p];
    const cap = this.mem.geometry.ackCapacity;
    const tail = this.ackTails[p];
    const o = tail * ACK_FIELDS;
    entries[o] = ticket;
    entries[o + 1] = status;
    entries[o + 2] = position;
    entries[o + 3] = version;
    const next = (tail + 1) % cap;
    this.ackTails[p] = next;
    Atomics.store(this.ackHeaders[p], 16, next);
    this.touched[p] = 1;
  }

  private notifyProducers(): void {
    const t = this.touched;
    for (let p = 0; p < t.length; p++) {
      if (t[p] === 0) continue;
      t[p] = 0;
      const bell = this.ctl.bellIndex(p);
      Atomics.add(this.ctl.i32, bell, 1);
      Atomics.notify(this.ctl.i32, bell);
    }
  }

  /** Zeroes consumed input bytes, then frees them for producers. */
  private release(to: number): void {
    const m = this.mem;
    const from = this.inHead;
    const used = (to - from) >>> 0;
    if (used > 0) {
      const a = from & this.mask;
      const cap = this.mask + 1;
      if (a + used <= cap) m.inU8.fill(0, a, a + used);
      else {
        m.inU8.fill(0, a, cap);
        m.inU8.fill(0, 0, a + used - cap);
      }
    }
    this.inHead = to;
    Atomics.store(m.i32, C_IN_HEAD, to);
  }

  /** Publishes counters and the rate gauges. */
  publish(): void {
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
    m.setCounter(Cnt.HEAD_POS, this.headPos);
    m.setCounter(Cnt.TAIL_POS, this.tailPos);
    m.setCounter(Cnt.APPENDED, this.appended);
    m.setCounter(Cnt.DISCARDED, this.discarded);
    m.setCounter(Cnt.REJECTED, this.rejected);
    m.setCounter(Cnt.PURGED, this.purged);
    m.setCounter(Cnt.LIVE, this.live);
    m.setCounter(Cnt.DUPLICATES, this.duplicates);
    m.setCounter(Cnt.CONFLICTS, this.conflicts);
    m.fence();
  }
}
