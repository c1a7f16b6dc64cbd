// A key's index (its positions, oldest first) over a long run: evictions drop its front, and the dropped entries
// must not pile up. With many keys each written now and then, dead entries kept per key are memory per key: the
// 2026-12-06 soak's metrics workers grew 10.4 -> 15.5 MB each over ~25 minutes (20,000 labels, ~6.5 live events
// each) while every label collected its 65 dead positions, and RSS failed the soak's slope (docs/benchmarks.md).
import { describe, expect, it } from 'vitest';
import { dropIndexUpTo } from '../../dist/src/partition/committer-evictions.js';

interface IndexState {
  positions: number[];
  first: number;
}

/** A key with `live` events that gets one new event per eviction of its oldest, `steps` times; the most dead entries seen. */
function churn(live: number, steps: number): { ks: IndexState; maxDead: number } {
  const ks: IndexState = { positions: Array.from({ length: live }, (_, i) => i + 1), first: 0 };
  let maxDead = 0;
  for (let next = live + 1; next <= live + steps; next++) {
    ks.positions.push(next);
    // The committer's KeyState carries more fields; dropIndexUpTo reads and writes these two only.
    dropIndexUpTo(ks as Parameters<typeof dropIndexUpTo>[0], next - live);
    maxDead = Math.max(maxDead, ks.first);
  }
  return { ks, maxDead };
}

describe('key index over a long run', () => {
  it('a key with few live events keeps at most 16 evicted positions (was 65)', () => {
    for (const live of [1, 3, 7]) {
      const { ks, maxDead } = churn(live, 10_000);
      expect(maxDead, `live ${live}`).toBeLessThanOrEqual(16);
      expect(ks.positions.slice(ks.first)).toEqual(Array.from({ length: live }, (_, i) => 10_000 + i + 1));
    }
  });

  it('at the bound: 15, 16 and 17 live events keep at most max(15, live) evicted positions between evictions, and all live ones', () => {
    // Spliced in the eviction that makes the dead 16 or more and more than the live: what stays between
    // evictions is at most 15 (16 at 16 live, 17 at 17).
    for (const live of [15, 16, 17]) {
      const { ks, maxDead } = churn(live, 10_000);
      expect(maxDead, `live ${live}`).toBe(Math.max(15, live));
      expect(ks.positions.slice(ks.first)).toEqual(Array.from({ length: live }, (_, i) => 10_000 + i + 1));
    }
  });

  it('a key with many live events keeps no more evicted positions than live ones (amortised splices)', () => {
    const { ks, maxDead } = churn(200, 10_000);
    expect(maxDead).toBeLessThanOrEqual(200);
    expect(ks.positions.slice(ks.first)).toEqual(Array.from({ length: 200 }, (_, i) => 10_000 + i + 1));
  });
});
