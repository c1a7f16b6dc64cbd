/**
 * The key directory: the last version of keys that have no live event left,
 * so a key's versions never go back when its events are evicted or purged
 * and it is written again later (also across worker restarts: it lives in
 * shared memory). Bounded: it remembers the `dormantKeys` keys that went
 * quiet most recently; a key forgotten beyond that bound starts again at
 * version 1 (documented in docs/architecture.md, "Memory per key").
 *
 * An entry is a 64-bit seeded hash of the key's bytes, its version and the
 * position of its last event. An entry whose position is not committed is
 * tentative: recovery skips it (see commit-record.ts). Keys with live events
 * are not looked up here (the live key table has them); a live key gets an
 * entry when its last live event goes, and when a purge removes its newest
 * event while older ones stay (so recovery, which rebuilds versions from
 * live slots, cannot lose a version).
 */
import { TableCursor, type PartitionMemory, dirSlots } from '../ring/layout.js';
import { HashedRing } from './hashed-ring.js';

export class KeyDirectory {
  private readonly ring: HashedRing;
  private readonly bound: number;
  private readonly h = new Int32Array(2);

  constructor(mem: PartitionMemory) {
    this.bound = mem.geometry.dormantKeys;
    this.ring = new HashedRing(mem.dirHash, mem.dirNum, 2, dirSlots(mem.geometry), mem.tables, TableCursor.DIR_HEAD, TableCursor.DIR_TAIL);
  }

  /** Entries held (dormant keys, plus version records of live keys). */
  get size(): number {
    return this.ring.count;
  }

  /** The entry of the key with hash (h0, h1), or -1. */
  find(h0: number, h1: number): number {
    return this.ring.find(h0, h1);
  }

  /** The remembered version of entry `e`. */
  version(e: number): number {
    return this.ring.numAt(e, 0);
  }

  /** Position of the event that had entry `e`'s version. */
  lastPosition(e: number): number {
    return this.ring.numAt(e, 1);
  }

  /** Remembers a key's version and the position of its event with that version. */
  record(h0: number, h1: number, version: number, lastPosition: number): void {
    this.h[0] = h0;
    this.h[1] = h1;
    this.ring.append(this.h, version, lastPosition);
  }

  /** At a commit point: forgets the keys that went quiet longest ago, beyond the bound. */
  trim(): void {
    this.ring.trim(this.bound);
  }

  /**
   * After a restart: drops tentative entries (position at or after the
   * committed tail) from the ring, not only from the index, so they do not
   * count against the bound; then rebuilds the index.
   */
  recover(committedTail: number): void {
    this.ring.compact((e) => this.ring.numAt(e, 1) < committedTail);
    this.ring.rebuild(() => true);
  }
}
