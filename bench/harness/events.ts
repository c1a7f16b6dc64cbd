/**
 * The events the built-in scenarios append (deterministic pools, so every run
 * appends the same ones) and the tryAppend-and-retry loop every producer uses,
 * on the main thread or in a producer thread.
 */

/** The ~140-byte JSON event of the append, producer-thread and snapshot cases. */
export interface BenchEvent {
  type: string;
  user: string;
  amount: number;
  currency: string;
  account: string;
  note: string;
  seq: number;
}

/** The tiny event of the core scenario's scan rows: `{"u":"k12","a":37}` (18 bytes of JSON). */
export interface TinyEvent {
  u: string;
  a: number;
}

const TYPES = ['deposit', 'withdrawal', 'transfer', 'refund'];
const NOTES = ['monthly top-up by card', 'salary from employer', 'rent for the flat', 'groceries and sundries'];

/** Deterministic pseudo-random numbers (mulberry32), so every run appends the same events. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A pool of `n` distinct ~140-byte events over `users` users. Producers cycle
 * through the pool: the objects already exist, so what is timed is encoding
 * and appending, not building objects (the peer loops over the same pool).
 */
export function makeEvents(n: number, seed = 1, users = 10_000): BenchEvent[] {
  const r = rng(seed);
  const out: BenchEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.floor(r() * users);
    out[i] = {
      type: TYPES[i & 3],
      user: `user-${String(u).padStart(5, '0')}`,
      amount: Math.round(r() * 10_000) / 100,
      currency: 'EUR',
      account: `ACC-${String(Math.floor(r() * 1e10)).padStart(10, '0')}`,
      note: NOTES[(i >> 2) & 3],
      seq: i,
    };
  }
  return out;
}

/** Tiny events for the scan row: 1024 keys `k0`..`k1023`, amount 0..99. */
export function makeTinyEvents(n: number, seed = 2): TinyEvent[] {
  const r = rng(seed);
  const out: TinyEvent[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { u: `k${i & 1023}`, a: Math.floor(r() * 100) };
  return out;
}

/** Yields to the event loop (lets timers, I/O and RPC replies in). */
export function yieldLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A producer refused for this long means the store stopped committing. */
const STALL_MS = 10_000;

/**
 * Appends `n` events from `pool` (starting at `start`) with tryAppend,
 * retrying on false: a short spin, then a yield to the event loop so this
 * thread gives the CPU to the partition workers (2 cores are shared by the
 * producers and the workers). Returns how many tryAppend calls were refused.
 */
export async function appendLoop<T>(
  producer: { tryAppend(e: T): boolean },
  pool: readonly T[],
  n: number,
  start = 0,
): Promise<number> {
  const mask = pool.length - 1;
  if ((pool.length & mask) !== 0) throw new RangeError('pool length must be a power of two');
  let refused = 0;
  for (let i = 0; i < n; i++) {
    const e = pool[(start + i) & mask];
    if (producer.tryAppend(e)) continue;
    refused++;
    let spins = 0;
    let since = 0;
    while (!producer.tryAppend(e)) {
      refused++;
      if (++spins >= 32) {
        await yieldLoop();
        spins = 0;
        const t = performance.now();
        if (since === 0) since = t;
        else if (t - since > STALL_MS) {
          throw new Error(`append stalled: tryAppend refused for ${STALL_MS / 1000} s at event ${i} (input ring never drains)`);
        }
      }
    }
  }
  return refused;
}
