/**
 * The idempotency window of a partition: for the last `dedupWindow` events
 * appended with a caller id, the position and version of their commit, so a
 * retry is answered with the first commit's result instead of being stored
 * twice. Ids are scoped by key (an id names an event of one stream, as in
 * KurrentDB and JetStream): the same id on two keys is two events.
 *
 * It lives in shared memory (a ring of 128-bit seeded hashes of
 * `key ‖ 0xff ‖ id`, with position and version), so a restarted worker keeps
 * every id, including ids of evicted events. Oldest ids leave first, at
 * commit points. Entries at or after the committed tail are tentative and
 * dropped by recovery (they are always the newest: ids are remembered in
 * commit order).
 */
import { TableCursor, type PartitionMemory, dedupSlots } from '../ring/layout.js';
import { HashedRing } from './hashed-ring.js';

export class DedupWindow {
  private readonly ring: HashedRing;
  private readonly size: number;

  constructor(mem: PartitionMemory) {
    this.size = mem.geometry.dedupWindow;
    this.ring = new HashedRing(mem.dedupHash, mem.dedupNum, 4, dedupSlots(mem.geometry), mem.tables, TableCursor.DEDUP_HEAD, TableCursor.DEDUP_TAIL);
  }

  /** Ids remembered. */
  get count(): number {
    return this.ring.count;
  }

  /** The entry of the id with hash `h` (4 lanes), or -1. */
  find(h: Int32Array): number {
    const e = this.ring.find(h[0], h[1]);
    if (e < 0 || this.ring.hashAt(e, 2) !== h[2] || this.ring.hashAt(e, 3) !== h[3]) return -1;
    return e;
  }

  /** Position of the first commit of entry `e`. */
  position(e: number): number {
    return this.ring.numAt(e, 0);
  }

  /** Version of the first commit of entry `e`. */
  version(e: number): number {
    return this.ring.numAt(e, 1);
  }

  /** Records the commit of an id (the caller checked it was not there). */
  remember(h: Int32Array, position: number, version: number): void {
    this.ring.append(h, position, version);
  }

  /** At a commit point: forgets the oldest ids beyond the window. */
  trim(): void {
    this.ring.trim(this.size);
  }

  /** After a restart: drops tentative ids, then rebuilds the index. */
  recover(committedTail: number): void {
    this.ring.dropNewest((e) => this.ring.numAt(e, 0) >= committedTail);
    this.ring.rebuild(() => true);
  }
}
