/**
 * The committer's commit point (commit-record.ts), and the slot checksums it
 * keeps while shared-memory readers are attached (reader.ts).
 */
import { Commit, Ctl, FaultFired, PartitionMemory, TableCursor } from '../ring/layout.js';
import { slotChecksum } from '../ring/slot-checksum.js';
import type { Committer } from './committer.js';

const C_READERS = PartitionMemory.ctl(Ctl.READERS);
const C_SUMMED = PartitionMemory.ctl(Ctl.SUMMED);

/**
 * The commit point: writes the commit record and flips it, then trims the
 * tables to their bounds, releases the consumed input and rings the
 * producers whose acks were written. Recovery's commit point does not
 * trim: the crashed drain saw the tables untrimmed, and its re-run must too
 * (or a key whose version the acks already named could be forgotten first).
 */
export function commitPoint(c: Committer, inputEnd: number, trim = true): void {
  const r = c.record.next;
  r[Commit.TAIL_POS] = c.tailPos;
  r[Commit.HEAD_POS] = c.headPos;
  r[Commit.APPENDED] = c.appended;
  r[Commit.DISCARDED] = c.discarded;
  r[Commit.REJECTED] = c.rejected;
  r[Commit.PURGED] = c.purged;
  r[Commit.LIVE] = c.live;
  r[Commit.DUPLICATES] = c.duplicates;
  r[Commit.CONFLICTS] = c.conflicts;
  r[Commit.INPUT] = inputEnd;
  r[Commit.ARENA_TAIL] = c.arenaTail;
  r[Commit.SUMMED_FROM] = c.summedFrom;
  r[Commit.KEYS] = c.keyTable.size;
  r[Commit.DORMANT_KEYS] = Math.min(c.dir.size, c.mem.geometry.dormantKeys);
  r[Commit.DEDUP_IDS] = Math.min(c.dedup.count, c.mem.geometry.dedupWindow);
  r[Commit.SERIAL] = ++c.serial;
  c.record.commit();
  c.committedTail = c.tailPos;
  if (c.dieAfterFlip) c.dieNow(FaultFired.COMMIT_POINT);
  if (trim) {
    c.dedup.trim();
    c.dir.trim();
  }
  // No trim is owed for this serial: recovery trims only when the worker died between the flip and here.
  c.mem.tables[TableCursor.TRIMMED] = c.serial;
  c.input.release(inputEnd);
  c.acks.notify();
  // A replayed drain commits history (its appends count, or not, once the worker rebases: rate-gauge.ts).
  if (!c.replaying) c.rate.publish(c.appended);
}

/**
 * Turns slot checksums on while shared-memory readers are attached (and
 * off when the last one leaves). Turning them on sums every live slot once,
 * then tells readers (Ctl.SUMMED).
 */
export function updateSumming(c: Committer): void {
  const m = c.mem;
  const readers = Atomics.load(m.i32, C_READERS) > 0;
  if (readers === c.summedFrom > 0) return;
  if (!readers) {
    c.summedFrom = 0;
    Atomics.store(m.i32, C_SUMMED, 0);
    return;
  }
  for (let pos = c.headPos; pos < c.tailPos; pos++) {
    const s = (pos - 1) % c.C;
    if (m.pos[s] === pos) m.sum[s] = slotChecksum(m, s);
  }
  c.summedFrom = Math.max(1, c.headPos);
  Atomics.store(m.i32, C_SUMMED, 1);
  Atomics.notify(m.i32, C_SUMMED);
}

/** Turns summing on or off now, outside a drain (readers attaching to an idle partition). */
export function syncReaders(c: Committer): void {
  const was = c.summedFrom;
  updateSumming(c);
  if (was !== c.summedFrom) commitPoint(c, c.input.head, false); // may come before a crashed drain's re-run
}
