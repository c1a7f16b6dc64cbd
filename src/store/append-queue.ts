/**
 * The FIFO queue of a producer's append() calls that wait for room. A call
 * made while any waits joins it, so appends are written in call order, and
 * one waiter polls for room, not every pending call (thousands of pollers made
 * a full ring take seconds to drain, and committed the calls in any order).
 */
export interface Turn {
  /** Resolves when every call queued before this one finished writing. */
  ready: Promise<void>;
  /** This call finished writing: the next one may go. */
  done: () => void;
}

export class AppendQueue {
  /** Calls in the queue (waiting for room, or behind one that does). */
  waiting = 0;
  /** What the next call to queue up waits on. */
  private tail: Promise<void> = Promise.resolve();

  queueUp(): Turn {
    this.waiting++;
    const ready = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    return {
      ready,
      done: () => {
        this.waiting--;
        release();
      },
    };
  }
}
