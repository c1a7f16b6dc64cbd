// End to end: `ringstore serve --data-dir D` under steady POST /streams load. 100 times the ring's arena goes
// through one partition, and D/ring must plateau under the bound derived from the checkpoint image and
// the segment size (16 MiB: the daemon's), with checkpoints by time 30 s apart (none within the run).
// docs/testing.md, "Long uptime" (disk).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, raw, startDaemon } from '../server/helpers.js';
import { diskUse, leftovers } from './disk.helpers.js';

const ARENA = 1024 * 1024;
const SEGMENT = 16 * 1024 * 1024; // the daemon's segmentBytes (src/store/options.ts default)

describe('the daemon: disk under steady load', () => {
  it('D/ring/streams plateaus under the bound while 100 times the arena goes through', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rs-disk-daemon-'));
    const d = await startDaemon({ dataDir, partitions: 1, capacity: 1024, arenaBytes: ARENA, fsync: 'never' });
    try {
      const ring = join(dataDir, 'ring', 'streams');
      const pad = 'd'.repeat(2000);
      const batch = Array.from({ length: 100 }, (_, i) => ({ n: i, pad }));
      const seen: number[] = [];
      let image = 0;
      for (let m = 1; m <= 100; m++) {
        // ~1 MiB of events a multiple: 5 bodies of 100 x 2 KB.
        for (let b = 0; b < 5; b++) expect((await raw(`${d.url}/streams/load/s${b}`, json(batch))).status).toBe(202);
        const u = diskUse(ring);
        for (const f of u.files.filter((x) => x.endsWith('.ckpt'))) image = Math.max(image, statSync(join(ring, f)).size);
        seen.push(u.bytes);
      }
      // One partition: three images (two kept, one being written), eleven images of log since the older
      // one (as in disk.test.ts), the segment the cut lands in and the active one; meta.json. Before the
      // fix nothing was cut before 30 s: the log held all 100 MiB.
      const bound = 14 * Math.max(image, ARENA + 64 * 1024) + 2 * SEGMENT + 4096;
      expect(Math.max(...seen), `bytes after each multiple: ${seen.join(', ')}; bound ${bound}`).toBeLessThanOrEqual(bound);
      expect(image).toBeGreaterThan(ARENA); // checkpoints were written (the image holds the arena)
      expect(leftovers(diskUse(dataDir))).toEqual([]);
    } finally {
      await d.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
