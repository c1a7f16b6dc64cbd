/**
 * Waiting for commits without polling: a coordinator thread waits on a
 * partition's COMMIT_FENCE (bumped at every commit point), and the worker
 * notifies it only while someone waits (Ctl.WATCHERS > 0), so the commit
 * path pays nothing when nobody follows. One shared wait per partition and
 * fence value, however many callers (500 SSE subscriptions to one partition
 * cost one `Atomics.waitAsync`).
 */
import { Ctl, PartitionMemory } from '../ring/layout.js';

const C_FENCE = PartitionMemory.ctl(Ctl.COMMIT_FENCE);
const C_WATCHERS = PartitionMemory.ctl(Ctl.WATCHERS);

interface SharedWait {
  value: number;
  done: Promise<boolean>;
}

export class CommitWatch {
  private readonly mems: PartitionMemory[];
  private readonly waits: (SharedWait | undefined)[];
  private closed = false;

  constructor(mems: PartitionMemory[]) {
    this.mems = mems;
    this.waits = mems.map(() => undefined);
  }

  /** Resolves true once partition p's fence moves past `since`, or false after `timeoutMs`. */
  wait(p: number, since: number, timeoutMs: number): Promise<boolean> {
    const i32 = this.mems[p].i32;
    if (this.closed || Atomics.load(i32, C_FENCE) !== since) return Promise.resolve(!this.closed);
    const shared = this.waits[p];
    const joined = shared !== undefined && shared.value === since ? shared.done : this.start(p, since);
    if (timeoutMs === Infinity) return joined;
    // Each caller's own timeout (the shared wait has a long one of its own).
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      t.unref();
      void joined.then((moved) => {
        clearTimeout(t);
        resolve(moved);
      });
    });
  }

  private start(p: number, since: number): Promise<boolean> {
    const i32 = this.mems[p].i32;
    Atomics.add(i32, C_WATCHERS, 1);
    // Re-check after announcing the watcher: a commit between the two loads was not notified.
    const r = Atomics.load(i32, C_FENCE) !== since ? { async: false as const, value: 'not-equal' as const } : Atomics.waitAsync(i32, C_FENCE, since, 60_000);
    const done = (r.async ? r.value : Promise.resolve(r.value)).then((outcome) => {
      Atomics.sub(i32, C_WATCHERS, 1);
      if (this.waits[p]?.done === done) this.waits[p] = undefined;
      return outcome !== 'timed-out' && !this.closed;
    });
    this.waits[p] = { value: since, done };
    return done;
  }

  /** Ends every wait (the store closed). */
  close(): void {
    this.closed = true;
    for (const m of this.mems) Atomics.notify(m.i32, C_FENCE);
  }
}
