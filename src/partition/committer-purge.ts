/** Purge and clear, each one commit point of the committer (committer.ts). */
import { Ctl, PartitionMemory, SlotFlag } from '../ring/layout.js';
import { commitPoint } from './commit-point.js';
import type { Committer } from './committer.js';
import { dropIndexUpTo } from './committer-evictions.js';
import type { KeyState } from './name-tables.js';

const C_PURGING = PartitionMemory.ctl(Ctl.PURGING);

/**
 * Marks live events with timestamp < cutoff as purged, as one commit. Returns how many.
 * A durable log gets the purge first: a purge cannot be rolled back, so one the log refuses (full
 * disk) must not have begun. The frame alone is enough to redo it (a replay, or a restarted worker).
 */
export function purge(c: Committer, cutoff: number): number {
  if (c.journal !== null && !c.replaying) c.journal.purge(c.serial + 1, cutoff);
  const n = purgeSlots(c, cutoff);
  commitPoint(c, c.input.head);
  Atomics.store(c.mem.i32, C_PURGING, 0);
  return n;
}

/** Removes every event (counted as purged), as one commit. Key versions (in the directory) and ids are kept. */
export function clear(c: Committer): number {
  if (c.journal !== null && !c.replaying) c.journal.clear(c.serial + 1); // first, as in purge
  const n = purgeSlots(c, Infinity);
  c.headPos = c.tailPos;
  c.buckets?.clear();
  commitPoint(c, c.input.head);
  Atomics.store(c.mem.i32, C_PURGING, 0);
  return n;
}

/** The work of a purge, without its commit point (PURGING stays set until the caller's). */
function purgeSlots(c: Committer, cutoff: number): number {
  const m = c.mem;
  const C = c.C;
  Atomics.store(m.i32, C_PURGING, 1);
  // Pass 1: what goes, per key (nothing changes yet).
  const gone = new Map<KeyState, { n: number; newest: boolean }>();
  for (let pos = c.headPos; pos < c.tailPos; pos++) {
    const s = (pos - 1) % C;
    if (m.pos[s] !== pos || !(m.flags[s] & SlotFlag.LIVE) || !(m.ts[s] < cutoff)) continue;
    const ks = c.keyById[m.keyId[s]]!;
    const g = gone.get(ks) ?? { n: 0, newest: false };
    g.n++;
    if (pos === ks.lastPosition) g.newest = true;
    gone.set(ks, g);
  }
  // Versions go to the directory first (a crash mid-purge keeps the purged slots purged).
  for (const [ks, g] of gone) {
    if (g.n === ks.live) continue; // retired below, which records it
    if (g.newest) c.dir.record(ks.h0, ks.h1, ks.version, ks.lastPosition);
  }
  // Pass 2: mark the slots.
  let n = 0;
  for (let pos = c.headPos; pos < c.tailPos; pos++) {
    const s = (pos - 1) % C;
    if (m.pos[s] !== pos || !(m.flags[s] & SlotFlag.LIVE) || !(m.ts[s] < cutoff)) continue;
    const ks = c.keyById[m.keyId[s]]!;
    c.buckets?.remove(m.ts[s], m.values, s, C);
    c.typeTable.release(m.typeId[s]);
    if (--ks.live === 0) c.keyTable.retire(ks);
    const sq = m.seq[s];
    Atomics.store(m.seq, s, sq + 1);
    m.flags[s] = (m.flags[s] & ~SlotFlag.LIVE) | SlotFlag.PURGED;
    Atomics.store(m.seq, s, sq + 2);
    n++;
  }
  // Leading purged slots can go at once, so the head tracks the oldest live event.
  while (c.headPos < c.tailPos) {
    const s = (c.headPos - 1) % C;
    if (m.pos[s] === c.headPos && m.flags[s] & SlotFlag.LIVE) break;
    c.headPos++;
  }
  for (const ks of c.keyTable.byName.values()) dropIndexUpTo(ks, c.headPos - 1);
  c.live -= n;
  c.purged += n;
  if (c.live < C) c.full = false;
  return n;
}
