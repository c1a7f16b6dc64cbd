// Seeded randomness for the stress suite: one seed names a whole run, and
// each round and thread derives its own stream from it, so a failing seed
// replays the same choices (thread timing still varies from run to run).

/** mulberry32: a small, fast 32-bit generator; returns floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

/** A seed for a sub-stream (round r, thread t...) of a run's seed. */
export function derive(seed, ...parts) {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** FNV-1a of a string: the payload checksum the checker compares. */
export function fnv(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The checksum an event carries in `c`, over every other field that identifies and fills it. */
export function eventSum(e) {
  return fnv(`${e.key ?? ''}|${e.t}|${e.type ?? ''}|${e.pad}|${e.amount}`);
}
