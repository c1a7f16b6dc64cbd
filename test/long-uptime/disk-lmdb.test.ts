// Disk usage of the versioned streams on LMDB (LmdbBackend) when the logical content is bounded: 4,000
// sessions opened and closed on 50 streams (a lease record written and removed each time), a 4 KB snapshot
// saved and cleared in each, and a 1 KB record with a 1-minute TTL written every simulated second (about 60
// alive). LMDB reuses freed pages; data.mdb must plateau near the content, not follow the bytes written
// (20 MB here). docs/testing.md, "Long uptime" (disk).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LmdbBackend, ManualClock, StreamStoreProvider } from '../../dist/src/streams/index.js';

describe('LmdbBackend: disk with bounded content', () => {
  it('data.mdb plateaus while sessions, snapshots and TTL records come and go', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-disk-lmdb-'));
    const clock = new ManualClock(Date.UTC(2026, 0, 5));
    const backend = new LmdbBackend({ path: dir, clock, noSync: true });
    const provider = new StreamStoreProvider({ backend, clock });
    const size = (): number => statSync(join(dir, 'data.mdb')).size;
    try {
      const STREAMS = 50;
      for (let i = 0; i < STREAMS; i++) {
        const s = await provider.open(`orders/o${i}`);
        await s.append([{ type: 'created', data: { i, pad: 'p'.repeat(500) } }]);
        await s.close();
      }
      const setup = size();
      const snapshot = { blob: 'z'.repeat(4000) };
      const record = { pad: 'q'.repeat(1000) };
      const seen: number[] = [];
      for (let m = 1; m <= 20; m++) {
        for (let k = 0; k < 200; k++) {
          const s = await provider.open(`orders/o${(m * 200 + k) % STREAMS}`);
          await s.snapshot(1, snapshot);
          await s.clearSnapshot(1);
          await s.close();
          await backend.set(`cache/m${m}-${k}`, record, { ttlMs: 60_000 });
          clock.advance(1000);
        }
        seen.push(size());
      }
      // Alive at any time: the setup's streams, ~60 TTL records, one snapshot and one lease. LMDB keeps the
      // pages the last transactions freed until no reader can see them, and its free list: four times the
      // live bytes above the setup covers that (measured: 274 KB after the first multiple, 283 KB after 20;
      // written: 4,000 x 5 KB).
      const live = 61 * 1024 + 4096 + 1024;
      expect(Math.max(...seen), `data.mdb after each multiple: ${seen.join(', ')}; setup ${setup}`).toBeLessThanOrEqual(setup + 4 * live);
      expect(seen[19] - seen[4], 'the last 15 multiples add at most a few pages').toBeLessThanOrEqual(4 * 4096);
      expect(await backend.list('cache/')).toHaveLength(59);
    } finally {
      await provider.close();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
