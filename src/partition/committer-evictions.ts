/**
 * The committer's evictions: making room for a new event by evicting the
 * oldest ones, keeping each evicted key's committed version (key-directory.ts),
 * and handing evicted copies to the coordinator.
 */
import { FaultFired, SlotFlag, TableCursor } from '../ring/layout.js';
import { readUtf8 } from '../ring/utf8.js';
import type { Committer, EvictedEvent } from './committer.js';
import type { KeyState } from './name-tables.js';

/** Evicts the oldest events until `position` has a slot and `bytes` fit in the arena. */
export function makeRoom(c: Committer, position: number, bytes: number): void {
  const C = c.C;
  const A = c.A;
  while (c.headPos <= position - C) evictHead(c);
  let tail = c.arenaTail;
  if (tail % A + bytes > A) tail += A - (tail % A);
  while (c.headPos < position) {
    const s = (c.headPos - 1) % C;
    if (tail + bytes - c.mem.arenaAbs[s] <= A) break;
    if (!c.full && c.mem.pos[s] === c.headPos && c.mem.flags[s] & SlotFlag.LIVE) c.setFull('bytes');
    evictHead(c);
  }
}

function evictHead(c: Committer): void {
  const m = c.mem;
  const s = (c.headPos - 1) % c.C;
  if (m.pos[s] === c.headPos && m.flags[s] & SlotFlag.LIVE) {
    const ks = c.keyById[m.keyId[s]]!;
    c.discarded++;
    c.live--;
    if (c.cfg.captureEvictions) c.evicted.push(readEvent(c, s));
    c.buckets?.remove(m.ts[s], m.values, s, c.C);
    c.typeTable.release(m.typeId[s]);
    dropIndexUpTo(ks, c.headPos);
    // The version goes to the directory before the slot is cleared: a crash in between keeps the key live.
    if (--ks.live === 0) retireKey(c, ks);
    else if (c.headPos < c.committedTail && ks.epoch === c.drainEpoch && ks.baseVersion > 0) {
      // Its last committed event goes while only this drain's (tentative) events keep the key live:
      // a crash now would leave no trace of its committed version, and the re-run would restart it.
      const next = ks.first < ks.positions.length ? ks.positions[ks.first] : Infinity;
      if (next >= c.committedTail) c.dir.record(ks.h0, ks.h1, ks.baseVersion, ks.basePosition);
    }
    // Bump the seqlock before the arena bytes can be overwritten.
    const sq = m.seq[s];
    Atomics.store(m.seq, s, sq + 1);
    m.flags[s] = 0;
    Atomics.store(m.seq, s, sq + 2);
  }
  c.headPos++;
}

/**
 * Hands the evicted copies to the coordinator, before the commit point: an
 * eviction of a committed event is final even if the drain dies (a re-run
 * does not evict it again; it does make and evict again the events the drain
 * itself wrote, whose second copies the coordinator drops: partition-handle.ts,
 * deliver), so the copies must leave this thread as soon as possible; and remembers
 * up to which position they went (EVICTIONS_SENT), so a recovery delivers
 * exactly the evictions no message carried (committer-recovery.ts). In a
 * durable partition, only once the drain's frame is written.
 */
export function sendEvictions(c: Committer): void {
  const ev = c.evicted;
  const lost = c.lostPositions;
  if (c.onEvicted === null || (ev.length === 0 && lost.length === 0)) return;
  const last = Math.max(ev.length > 0 ? ev[ev.length - 1].position : 0, lost.length > 0 ? lost[lost.length - 1] : 0);
  c.evicted = [];
  c.lostPositions = [];
  c.onEvicted(ev, lost);
  if (c.dieAfterSend) c.dieNow(FaultFired.EVICTIONS);
  c.mem.tables[TableCursor.EVICTIONS_SENT] = last + 1;
}

/**
 * Drops a key with no live event left. If its version is tentative (it was
 * written in this drain), its committed version is recorded too, so a crash
 * before the commit point cannot lose it.
 */
function retireKey(c: Committer, ks: KeyState): void {
  if (ks.lastPosition >= c.committedTail && ks.epoch === c.drainEpoch && ks.baseVersion > 0) {
    c.dir.record(ks.h0, ks.h1, ks.baseVersion, ks.basePosition);
  }
  c.keyTable.retire(ks);
}

/** Reads slot s as raw parts (worker thread: no seqlock needed). */
function readEvent(c: Committer, s: number): EvictedEvent {
  const m = c.mem;
  const base = m.arenaBase + (m.arenaAbs[s] % c.A);
  const idLen = m.idLen[s];
  const keyLen = m.keyLen[s];
  const typeLen = m.typeLen[s];
  const values: number[] = [];
  for (let v = 0; v < c.V; v++) values.push(m.values[v * c.C + s]);
  return {
    position: m.pos[s],
    timestamp: m.ts[s],
    version: m.ver[s],
    values,
    id: readUtf8(m.u8, base, idLen),
    key: c.keyNames[m.keyId[s]],
    type: c.typeNames[m.typeId[s]],
    json: readUtf8(m.u8, base + idLen + keyLen + typeLen, m.payloadLen[s]),
  };
}

/**
 * Dropped entries a key's index may keep before they are spliced away (when they also outnumber its live
 * ones). It was 64: a key with a few live events then held up to 65 dead positions, and a pool of keys each
 * written now and then grew its worker's heap until every key had collected them (20,000 labels at 800
 * events/s: +5 MB per metrics worker over ~25 minutes, the 2026-12-06 soak's RSS slope). Splicing when the
 * dropped outnumber the live keeps the cost amortised O(1) per eviction at any bound.
 */
export const INDEX_DEAD_MAX = 16;

/** Drops key-index entries at or below `position` (evicted or purged ahead of the head). */
export function dropIndexUpTo(ks: KeyState, position: number): void {
  const p = ks.positions;
  let first = ks.first;
  while (first < p.length && p[first] <= position) first++;
  if (first >= INDEX_DEAD_MAX && first * 2 > p.length) {
    p.splice(0, first);
    first = 0;
  }
  ks.first = first;
}
