/** Helpers shared by tests that need one key per partition. */
import { partitionOf } from '../dist/src/partition/hash.js';

/** A key of each partition 0..n-1 (index i holds a key that routes to partition i). */
export function keysByPartition(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.filter(Boolean).length < n; i++) {
    const k = `k${i}`;
    out[partitionOf(k, n)] ??= k;
  }
  return out;
}
