/**
 * Recovery of a partition worker that starts on existing shared memory (a
 * restart after a crash, or the first start on fresh memory). The committed
 * state is the commit record's named block (commit-record.ts); everything
 * written after it is rolled back, and the records it had consumed are read
 * again from the input ring, where they still are (release comes after the
 * commit point).
 *
 * Steps:
 * 1. Slots at or after the committed tail are emptied (a drain's tentative
 *    writes); a slot left mid-write (odd seq) is closed.
 * 2. The key directory and the dedup window drop their tentative entries
 *    (position at or after the committed tail) and rebuild their indexes.
 * 3. Live keys, types, the key index and the time buckets are rebuilt from
 *    the live slots; a key's version is the larger of its newest live event
 *    and its directory entry.
 * 4. Live events a crashed drain evicted (or a crashed purge purged) before
 *    dying are counted as discarded (purged), so the accounting stays exact.
 *    Those evicted after the last batch handed to the coordinator
 *    (EVICTIONS_SENT) are delivered now (see lostEvictions).
 * 5. The input is released up to the committed cursor, a fresh commit point
 *    is written, and every producer is rung to re-read its acks.
 */
import { randomInt } from 'node:crypto';
import { Commit, Ctl, PartitionMemory, SlotFlag, TableCursor } from '../ring/layout.js';
import { readUtf8 } from '../ring/utf8.js';
import { commitPoint } from './commit-point.js';
import type { Committer } from './committer.js';
import { sendEvictions } from './committer-evictions.js';

const C_PURGING = PartitionMemory.ctl(Ctl.PURGING);

export function recoverCommitter(c: Committer): void {
  const m = c.mem;
  const C = m.geometry.capacity;
  const A = m.geometry.arenaBytes;
  const r = c.record.next;
  if (!c.record.load()) {
    r.fill(0);
    r[Commit.TAIL_POS] = 1;
    r[Commit.HEAD_POS] = 1;
    r[Commit.INPUT] = Atomics.load(m.i32, PartitionMemory.ctl(Ctl.IN_HEAD));
  }
  const tail = r[Commit.TAIL_POS];
  let head = r[Commit.HEAD_POS];
  c.tailPos = tail;
  c.appended = r[Commit.APPENDED];
  c.discarded = r[Commit.DISCARDED];
  c.rejected = r[Commit.REJECTED];
  c.purged = r[Commit.PURGED];
  c.duplicates = r[Commit.DUPLICATES];
  c.conflicts = r[Commit.CONFLICTS];
  c.arenaTail = r[Commit.ARENA_TAIL];
  c.serial = r[Commit.SERIAL];
  c.summedFrom = 0; // turned on again by the next drain if readers are attached
  Atomics.store(m.i32, PartitionMemory.ctl(Ctl.SUMMED), 0);
  const purging = Atomics.load(m.i32, C_PURGING) === 1;
  Atomics.store(m.i32, C_PURGING, 0);

  // Arena bytes the crashed drain wrote (before its slots are emptied below): evicted bytes there are gone.
  const arenaWritten = c.cfg.captureEvictions ? tentativeArena(c, tail) : [];

  // 1. Roll back what the last drain wrote past the committed tail; close slots left mid-write.
  const seq = m.seq;
  for (let s = 0; s < C; s++) {
    if (seq[s] & 1) {
      m.flags[s] = 0;
      Atomics.store(seq, s, seq[s] + 1);
    }
    if (m.pos[s] >= tail) {
      m.flags[s] = 0;
      Atomics.store(seq, s, seq[s] + 1);
      m.pos[s] = 0;
      Atomics.store(seq, s, seq[s] + 1);
    }
  }

  // 2. Tables: drop tentative entries, rebuild indexes (before any key is looked up).
  // A restore loaded the store's seed with its checkpoint image, after the committer drew one.
  if (m.tables[TableCursor.SEED] === 0) m.tables[TableCursor.SEED] = randomInt(1, 2 ** 31);
  c.hash.reseed(m.tables[TableCursor.SEED]);
  c.dir.recover(tail);
  c.dedup.recover(tail);
  // Died between a commit point's flip and its trim: no drain ran since, so nothing in the tables is
  // tentative, and the trim that commit point owed is done now (else the next drain would see ids and
  // dormant keys past the bounds that a store that did not crash has dropped). After a crash inside a
  // drain the last commit point did trim, and the tables must stay as the crashed drain saw them.
  if (m.tables[TableCursor.TRIMMED] !== r[Commit.SERIAL]) {
    c.dedup.trim();
    c.dir.trim();
  }

  // 3. Live keys, types, key index, buckets.
  let live = 0;
  for (let pos = head; pos < tail; pos++) {
    const s = (pos - 1) % C;
    if (m.pos[s] !== pos || !(m.flags[s] & SlotFlag.LIVE)) continue;
    live++;
    const base = m.arenaBase + (m.arenaAbs[s] % A);
    const key = readUtf8(m.u8, base + m.idLen[s], m.keyLen[s]);
    const type = readUtf8(m.u8, base + m.idLen[s] + m.keyLen[s], m.typeLen[s]);
    const ks = c.keyTable.state(key);
    if (m.ver[s] > ks.version) {
      ks.version = m.ver[s];
      ks.lastPosition = pos;
    }
    ks.live++;
    ks.positions.push(pos);
    m.keyId[s] = ks.id;
    m.typeId[s] = c.typeTable.acquire(type);
    c.buckets?.add(m.ts[s], m.values, s, C);
  }

  // 4. Live events lost with the crashed drain (evicted) or purge (purged) before its commit point.
  const lost = r[Commit.LIVE] - live;
  if (lost > 0) {
    if (purging) c.purged += lost;
    else c.discarded += lost;
    if (!purging && c.cfg.captureEvictions) lostEvictions(c, head, tail, arenaWritten, lost);
  }
  while (head < tail) {
    const s = (head - 1) % C;
    if (m.pos[s] === head && m.flags[s] & SlotFlag.LIVE) break;
    head++;
  }
  c.headPos = head;
  c.live = live;
  c.full = live >= C;

  // 5. Input, a fresh commit point, producers.
  c.input.recover(r[Commit.INPUT]);
  // Before the commit point, which moves the head past them: a worker that dies in between finds them again.
  sendEvictions(c);
  commitPoint(c, r[Commit.INPUT], false); // the re-run of the crashed drain trims at its own commit point
  c.acks.notifyAll();
}

/** Span of slot s's bytes in the arena (records are 4-byte aligned). */
const spanOf = (m: PartitionMemory, s: number): number => (m.idLen[s] + m.keyLen[s] + m.typeLen[s] + m.payloadLen[s] + 3) & ~3;

/**
 * The arena ranges (absolute, merged, in order) the crashed drain wrote: one
 * per slot at or after the committed tail. A slot's position, lengths and
 * arena offset are written before its bytes, so no byte it wrote is missed (a
 * slot whose offset is still the old one adds a range of no live event).
 */
function tentativeArena(c: Committer, tail: number): number[] {
  const m = c.mem;
  const spans: [number, number][] = [];
  for (let s = 0; s < m.geometry.capacity; s++) {
    if (m.pos[s] >= tail) spans.push([m.arenaAbs[s], m.arenaAbs[s] + spanOf(m, s)]);
  }
  spans.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [b, e] of spans) {
    if (out.length > 0 && b <= out[out.length - 1]) out[out.length - 1] = Math.max(out[out.length - 1], e);
    else out.push(b, e);
  }
  return out;
}

/** Whether bytes [a, a + w) of a live event lie under a later write in `ranges` (one arena of `A` bytes later or more). */
function overwritten(ranges: number[], a: number, w: number, A: number): boolean {
  const last = ranges.length > 0 ? ranges[ranges.length - 1] : 0;
  for (let x = a + A; x < last; x += A) {
    for (let i = 0; i < ranges.length; i += 2) if (ranges[i] < x + w && x < ranges[i + 1]) return true;
  }
  return false;
}

/**
 * Events the crashed drain evicted after the last batch it handed over
 * (EVICTIONS_SENT): in the committed state every position in [head, tail)
 * was live or purged, so those now neither are the ones it evicted. An event
 * whose slot still names it and whose bytes the drain did not overwrite is
 * read back whole (its key and type from its bytes: key ids are rebuilt);
 * of the others (their slot was reused by the drain's new events, or their
 * bytes were) only the position is left.
 */
function lostEvictions(c: Committer, head: number, tail: number, arenaWritten: number[], lost: number): void {
  const m = c.mem;
  const C = m.geometry.capacity;
  const A = m.geometry.arenaBytes;
  const V = m.geometry.valueCount;
  const from = Math.max(head, m.tables[TableCursor.EVICTIONS_SENT]);
  // A slot the drain reused held a live event or a purged one (purged, not yet passed by the head): only
  // when the count of such slots and of the surely evicted ones adds up to the lost live events are the
  // reused ones all evictions. Otherwise which were purged cannot be told, and their positions are not sent.
  let reused = 0;
  let evictedHere = 0;
  const maybe: number[] = [];
  for (let pos = head; pos < tail; pos++) {
    const s = (pos - 1) % C;
    const own = m.pos[s] === pos;
    if (own && m.flags[s] & (SlotFlag.LIVE | SlotFlag.PURGED)) continue;
    if (!own) {
      reused++;
      if (pos >= from) maybe.push(pos);
      continue;
    }
    evictedHere++; // its slot names it and is neither live nor purged: an eviction
    if (pos < from) continue;
    if (overwritten(arenaWritten, m.arenaAbs[s], spanOf(m, s), A)) {
      c.lostPositions.push(pos);
      continue;
    }
    const base = m.arenaBase + (m.arenaAbs[s] % A);
    const idLen = m.idLen[s];
    const keyLen = m.keyLen[s];
    const typeLen = m.typeLen[s];
    const values: number[] = [];
    for (let v = 0; v < V; v++) values.push(m.values[v * C + s]);
    c.evicted.push({
      position: pos,
      timestamp: m.ts[s],
      version: m.ver[s],
      values,
      id: readUtf8(m.u8, base, idLen),
      key: readUtf8(m.u8, base + idLen, keyLen),
      type: readUtf8(m.u8, base + idLen + keyLen, typeLen),
      json: readUtf8(m.u8, base + idLen + keyLen + typeLen, m.payloadLen[s]),
    });
  }
  if (reused + evictedHere === lost) c.lostPositions.push(...maybe);
  c.lostPositions.sort((x, y) => x - y);
}
