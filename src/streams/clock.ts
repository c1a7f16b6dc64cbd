/**
 * The one time source of the streams: leases, TTLs, open waits and event
 * timestamps all read the same injected {@link Clock} (the reference read two
 * clocks and disagreed with itself, its defect D4).
 */
import { InvalidStreamOptionError } from './errors.js';

/** A time source: `now()` in epoch milliseconds and an abortable `sleep()`. */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with `signal.reason` when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
});

/**
 * A manual clock for tests: time moves only through {@link ManualClock.advance}
 * and {@link ManualClock.sleep} (which advances time by `ms` and yields one
 * macrotask), so lease expiry and open timeouts are deterministic.
 */
export class ManualClock implements Clock {
  #now: number;
  /** @param start - initial time, epoch ms (default 1_700_000_000_000). */
  constructor(start = 1_700_000_000_000) {
    if (!Number.isFinite(start)) throw new InvalidStreamOptionError('ManualClock start must be a finite number', { start });
    this.#now = start;
  }
  /** Current manual time. */
  now(): number {
    return this.#now;
  }
  /** Moves time forward by `ms` (>= 0). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidStreamOptionError('ManualClock.advance(ms) needs a finite ms >= 0', { ms });
    this.#now += ms;
  }
  /** Advances time by `ms`, then yields a macrotask so other work can run. */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.#now += Math.max(0, ms);
    await new Promise<void>((r) => setImmediate(r));
    if (signal?.aborted) throw signal.reason;
  }
}

/** Checks that a user-supplied value is a usable {@link Clock}. */
export function assertClock(clock: unknown, what: string): asserts clock is Clock {
  const c = clock as Clock | null;
  if (c === null || typeof c !== 'object' || typeof c.now !== 'function' || typeof c.sleep !== 'function') {
    throw new InvalidStreamOptionError(`${what} must be an object with now() and sleep(ms, signal)`);
  }
}
