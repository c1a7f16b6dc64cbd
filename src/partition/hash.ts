/**
 * Stable string hash used for partition routing: 32-bit FNV-1a over the
 * string's UTF-16 code units. It has no per-process seed, so the same key
 * lands in the same partition in every process and after every restart
 * (the reference's `HashCode.Combine` is randomly seeded per process).
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The partition a key routes to among `partitions` partitions. */
export function partitionOf(key: string, partitions: number): number {
  return hashKey(key) % partitions;
}
