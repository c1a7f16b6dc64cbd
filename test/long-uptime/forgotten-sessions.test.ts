// Sessions a program drops without close(), over a long run: the provider forgets them once their lease
// expired (they can never work again), instead of holding every one until the provider closes. Live ones
// it still closes with itself, so their leases are released at once.
import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';
import { heapUsed } from '../heap.helpers.js';

describe('sessions dropped without close()', () => {
  it('do not accumulate in the provider: 40,000 forgotten sessions on 100 streams, heap bounded', async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const backend = new MemoryBackend({ clock });
    const provider = new StreamStoreProvider({ backend, clock });
    const round = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const s = await provider.open(`Forgot/${i}`, { sessionTimeoutMs: 1_000, openTimeoutMs: 0 });
        await s.append([{ type: 'E', data: { i } }]);
      }
      clock.advance(1_001); // every lease of the round expires; the next round takes each stream over
    };
    for (let r = 0; r < 50; r++) await round();
    const before = heapUsed();
    for (let r = 0; r < 400; r++) await round();
    const grown = heapUsed() - before;
    // 40,000 sessions held would be tens of MB; the streams themselves grow by 40,000 small events (~150 B each).
    expect(grown, `heap grew ${(grown / 1e6).toFixed(1)} MB`).toBeLessThan(12e6);
    // Still exact: the next session of a stream continues its versions.
    const s = await provider.open('Forgot/7', { openTimeoutMs: 0 });
    expect(await s.version()).toBe(450);
    await s.close();
    await provider.close();
  });

  it('a live session dropped without close() is still closed with the provider (its lease released at once)', async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const backend = new MemoryBackend({ clock });
    const first = new StreamStoreProvider({ backend, clock });
    for (let i = 0; i < 1_500; i++) await first.open(`Live/${i}`, { sessionTimeoutMs: 60_000 }); // past a sweep, none expired
    await first.close();
    const second = new StreamStoreProvider({ backend, clock });
    for (const i of [0, 749, 1_499]) {
      const s = await second.open(`Live/${i}`, { openTimeoutMs: 0 });
      await s.close();
    }
    await second.close();
  });
});
