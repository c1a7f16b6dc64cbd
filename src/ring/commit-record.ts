/**
 * The commit record: the partition's committed state in two blocks of
 * Float64 fields (layout.ts `Commit`), one of which Ctl.COMMIT_SLOT names.
 * The worker writes the other block, then flips COMMIT_SLOT with one
 * `Atomics.store`: that store is the commit point of every record consumed
 * since the previous one (a whole drain, a purge, a clear).
 *
 * Invariants:
 * - The committed block is never written, so a worker that dies at any
 *   instruction leaves a consistent committed state behind: positions below
 *   TAIL_POS, the input cursor, the counters and the arena tail agree.
 * - After the flip: the committed tail is published to producers
 *   (Ctl.TAIL_LO/HI, see ack-ring.ts), then COMMIT_FENCE is bumped and,
 *   when a coordinator thread waits on it (Ctl.WATCHERS), notified.
 * - Everything a drain wrote at or after the committed TAIL_POS (slots,
 *   dedup entries, directory records, acks) is tentative until the flip; the
 *   recovery of a restarted worker rolls it back (committer-recovery.ts).
 */
import { COMMIT_FIELDS, Commit, Ctl, LINE_INTS, PartitionMemory } from './layout.js';

const C_SLOT = Ctl.COMMIT_SLOT * LINE_INTS;
const C_FENCE = Ctl.COMMIT_FENCE * LINE_INTS;
const C_WATCHERS = Ctl.WATCHERS * LINE_INTS;

export class CommitRecord {
  private readonly mem: PartitionMemory;
  /** The fields being prepared (worker-local), written to the inactive block at {@link commit}. */
  readonly next = new Float64Array(COMMIT_FIELDS);

  constructor(mem: PartitionMemory) {
    this.mem = mem;
  }

  /** Loads the committed block into {@link next}. Returns false for a fresh partition (never committed). */
  load(): boolean {
    const slot = Atomics.load(this.mem.i32, C_SLOT);
    const block = this.mem.commit.subarray(slot * COMMIT_FIELDS, (slot + 1) * COMMIT_FIELDS);
    this.next.set(block);
    return this.next[Commit.TAIL_POS] !== 0;
  }

  /** Makes {@link next} the committed state (the commit point), publishes the tail and wakes watchers. */
  commit(): void {
    const m = this.mem;
    const i32 = m.i32;
    const slot = 1 - Atomics.load(i32, C_SLOT);
    m.commit.set(this.next, slot * COMMIT_FIELDS);
    Atomics.store(i32, C_SLOT, slot);
    m.publishTail(this.next[Commit.TAIL_POS]);
    Atomics.add(i32, C_FENCE, 1);
    if (Atomics.load(i32, C_WATCHERS) > 0) Atomics.notify(i32, C_FENCE);
  }
}
