// A durable MetricStore reopens a journal written by a build without the 1,024-character key limit (before
// 8d7ec4e): the frames after the last checkpoint are replayed, and a key over the limit in them must not make
// the journal look corrupt (RS_ERR_LOG_CORRUPT, or a cut log under `repair`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricStore } from '../../dist/src/index.js';
import { MetricJournal } from '../../dist/src/store/metric-journal.js';
import { OpBatch } from '../../dist/src/store/metric-ops.js';
import { resolveDurability } from '../../dist/src/store/options.js';

const roots: string[] = [];
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

const LONG = 'k'.repeat(2_000);

/**
 * A data directory as an older build leaves it after a crash: a clean open and close (meta.json, a
 * checkpoint), then one frame after that checkpoint with a sample and a pin of a 2,000-character key,
 * written by the journal's own encoder (which an older build's `add` reached with that key).
 */
async function oldBuildDir(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rs-metric-oldkeys-'));
  roots.push(dir);
  const options = { capacity: 16, durability: { dir, fsync: 'always' as const } };
  const s = await MetricStore.open(options);
  await s.add('short', 1, 1);
  await s.close();
  const { journal } = MetricJournal.open(MetricStore.create({ capacity: 16 }), dir, resolveDurability(options.durability)!, undefined);
  const batch = new OpBatch();
  batch.sample(LONG, 5, 2);
  batch.pin(LONG);
  batch.sample('short', 3, 3);
  journal.write(batch);
  // No close: it would write a checkpoint holding the frame; a crash leaves the frame to replay.
  return dir;
}

describe('DurableMetricStore: keys over 1,024 characters from an older build', () => {
  it('reopens and replays them; queries on such a remembered key answer', async () => {
    const dir = await oldBuildDir();
    const s = await MetricStore.open({ capacity: 16, durability: { dir, fsync: 'always' } });
    try {
      expect(s.restored.samples).toBe(3);
      expect(s.keys().sort()).toEqual([LONG, 'short'].sort());
      expect(s.sum(LONG)).toBe(5);
      expect(s.count('short')).toBe(2);
      // New keys over the limit are still refused.
      expect(() => s.add('j'.repeat(1_025), 1, 1)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
      expect(() => s.keyId('j'.repeat(1_025))).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
      expect(() => s.sum('j'.repeat(1_025))).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
      expect(s.keys()).toHaveLength(2);
    } finally {
      await s.close();
    }
    // And once more, from the checkpoint the close wrote (the key is in its image).
    const again = await MetricStore.open({ capacity: 16, durability: { dir, fsync: 'always' } });
    try {
      expect(again.sum(LONG)).toBe(5);
    } finally {
      await again.close();
    }
  });
});
