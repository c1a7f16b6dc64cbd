// Disk usage of the durable ring stores under steady load and across kill -9 restarts: 20 times the capacity
// goes through, and the data directory's bytes must plateau under a bound derived from the geometry (the
// checkpoint image's bytes, the segment size, the two checkpoints kept), not from a timing: checkpoints by
// time are an hour apart here. docs/testing.md, "Long uptime" (disk).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore, MetricStore } from '../../dist/src/index.js';
import { diskUse, leftovers } from './disk.helpers.js';

interface Ev { k: string; n: number; pad: string }

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'rs-disk-'));
  dirs.push(d);
  return d;
};

const CAPACITY = 2000;
const PARTITIONS = 2;
const SEGMENT = 64 * 1024;
const GEOMETRY = { capacity: CAPACITY, partitions: PARTITIONS, key: 'k', values: { n: 'n' }, dedupWindow: 100, dormantKeys: 100 } as const;
const durability = (dir: string) => ({ dir, fsync: 'never' as const, segmentBytes: SEGMENT, checkpointIntervalMs: 3_600_000 });
const pad = 'x'.repeat(1000); // the arena (256 bytes a slot) evicts before the slots: a capacity is ~2.2 MB of log

/** Bytes of one partition's checkpoint image (all partitions have the same geometry). */
async function imageBytes(): Promise<number> {
  const s = EventStore.create<Ev>(GEOMETRY);
  const [image] = await s.exportImages();
  await s.close();
  return image.length;
}

/**
 * The derived bound. Per partition: the two kept checkpoints and a third being written (its `.tmp`, until
 * the rename), 48-byte headers each; the log since the older kept checkpoint: twice 4 images' worth (a
 * checkpoint is due once 4 images' worth was written after the last one: CHECKPOINT_LOG_IMAGES), and the
 * drains that run while the coordinator has not yet delivered the evictions (a checkpoint waits for them:
 * not bounded by the geometry but by how soon the event loop takes the worker's messages; 3 images allowed
 * here, on a loaded machine), plus the segment the cut lands in and the active one. Then meta.json and LOCK.
 */
const bound = (image: number): number => PARTITIONS * (3 * (image + 48) + 11 * image + 2 * SEGMENT) + 4096;

async function fill(s: EventStore<Ev>, events: number, from: number): Promise<void> {
  for (let i = 0; i < events; i++) {
    while (!s.tryAppend({ k: `k${i % 50}`, n: from + i, pad })) await new Promise((r) => setImmediate(r));
  }
  await s.flush();
}

describe('EventStore: disk under steady load', () => {
  it('plateaus under the bound while 20 times the capacity goes through; purge and clear do not grow it', async () => {
    const image = await imageBytes();
    const dir = tmp();
    const s = await EventStore.open<Ev>({ ...GEOMETRY, durability: durability(dir) });
    const seen: number[] = [];
    for (let m = 1; m <= 20; m++) {
      await fill(s, CAPACITY, m * CAPACITY);
      seen.push(diskUse(dir).bytes);
    }
    // Before the fix no checkpoint came before the hour: the log held everything (figures in docs/testing.md).
    expect(Math.max(...seen), `bytes after each multiple: ${seen.join(', ')}; bound ${bound(image)}`).toBeLessThanOrEqual(bound(image));
    expect(s.stats.live).toBeLessThanOrEqual(CAPACITY);
    await s.purge({ olderThan: Date.now() + 1000 });
    await s.clear();
    // Purges and clears are small frames: the disk stays under the bound, and after the next checkpoint
    // (here close()) it holds the two images and the log since the older one.
    expect(diskUse(dir).bytes).toBeLessThanOrEqual(bound(image));
    await s.close();
    const closed = diskUse(dir);
    expect(leftovers(closed)).toEqual([]);
    expect(closed.files.filter((f) => f.endsWith('.ckpt')).length).toBe(2 * PARTITIONS);
    expect(closed.bytes, closed.files.join(' ')).toBeLessThanOrEqual(PARTITIONS * (2 * (image + 48) + 8 * image + 2 * SEGMENT) + 4096);
    const again = await EventStore.open<Ev>({ ...GEOMETRY, durability: durability(dir) });
    expect(again.stats.live).toBe(0);
    await again.close();
  });
});

describe('EventStore: purges and clears with nothing appended', () => {
  // Count-0 frames start no later sequence: until 2026-12-06 the log was cut by sequence only, so a store that
  // purged and cleared while nothing was appended kept every such frame (a two-second loop of them added about
  // 4 MB, for ever, replayed at each open). Now the log is cut before where it stood at the older kept checkpoint,
  // for a checkpoint found at open too (the segment of the first frame it does not hold).
  it('keep no more log than one session\'s frames, over restarts that each purge and clear 300 times', async () => {
    const dir = tmp();
    const logBytes = (): number => diskUse(dir).files.filter((f) => f.endsWith('.seg')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const opts = { ...GEOMETRY, durability: { ...durability(dir), segmentBytes: 4096 } };
    const session = async (first: boolean): Promise<void> => {
      const s = await EventStore.open<Ev>(opts);
      if (first) await fill(s, 10, 0);
      for (let i = 0; i < 300; i++) {
        await s.purge({ olderThan: 0 });
        await s.clear();
      }
      await s.close(); // a checkpoint: the one before it is the oldest kept
    };
    await session(true);
    const seen: number[] = [];
    for (let k = 0; k < 6; k++) {
      await session(false);
      seen.push(logBytes()); // the last session's frames: about 58 KB a partition (15 segments of 4 KB)
    }
    // Before the fix each session added its frames: 119 KB, 238 KB, ... 714 KB.
    expect(Math.max(...seen), `log bytes after each session: ${seen.join(', ')}`).toBeLessThanOrEqual(seen[0] + PARTITIONS * 2 * 4096);
    expect(leftovers(diskUse(dir))).toEqual([]);
    const again = await EventStore.open<Ev>(opts);
    expect(again.stats.live).toBe(0);
    await again.close();
  });
});

/** One run of the fixture: open (restore), append `count`, then SIGKILL once it printed that it is done. */
function crashRun(mode: 'events' | 'metric', dir: string, count: number, round: number): Promise<{ done: number; live: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../fixtures/durable-disk.mjs'), mode, dir, String(count), String(round)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let result: { done: number; live: number } | null = null;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (result === null && out.includes('\n')) {
        result = JSON.parse(out.slice(0, out.indexOf('\n'))) as { done: number; live: number };
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () => (result ? resolve(result) : reject(new Error(`the child exited before it was done: ${out}`))));
  });
}

describe('EventStore: disk across kill -9 restarts', () => {
  it('stays under the bound over 16 crashes that never live to a timed checkpoint, with nothing left behind', async () => {
    const image = await imageBytes();
    const dir = tmp();
    const seen: number[] = [];
    let lastLive = 0;
    for (let round = 0; round < 16; round++) {
      const r = await crashRun('events', dir, CAPACITY, round); // each run writes one capacity, then dies
      expect(r.live).toBeGreaterThan(0); // the arena evicts first (1 KB events, 256 bytes a slot)
      expect(r.live).toBeLessThanOrEqual(CAPACITY);
      lastLive = r.live;
      const u = diskUse(dir);
      seen.push(u.bytes);
      // A checkpoint killed mid-write leaves a .ckpt.tmp until the next open removes it: at most one per partition.
      expect(leftovers(u).filter((f) => !f.endsWith('.ckpt.tmp'))).toEqual([]);
      expect(leftovers(u).length).toBeLessThanOrEqual(PARTITIONS);
      expect(u.files.filter((f) => f.endsWith('.ckpt')).length).toBeLessThanOrEqual(2 * PARTITIONS);
    }
    // Before the fix nothing was ever cut: a restore does not checkpoint, and no run lived an hour.
    expect(Math.max(...seen), `bytes after each crash: ${seen.join(', ')}; bound ${bound(image)}`).toBeLessThanOrEqual(bound(image));
    const s = await EventStore.open<Ev>({ ...GEOMETRY, durability: durability(dir) });
    expect(s.stats.live).toBe(lastLive);
    await s.close();
    expect(leftovers(diskUse(dir))).toEqual([]);
  }, 60_000);
});

describe('MetricStore: disk across kill -9 restarts and under steady load', () => {
  const logBytes = (dir: string): number => {
    const u = diskUse(dir);
    return u.files.filter((f) => f.endsWith('.seg')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  };

  it('stays under the bound over 16 crashes that each write half the capacity', async () => {
    const dir = tmp();
    const capacity = 2000; // the fixture's
    const seen: number[] = [];
    let frameBytes = 0;
    let image = 0;
    for (let round = 0; round < 16; round++) {
      const r = await crashRun('metric', dir, capacity / 2, round);
      expect(r.live).toBe(Math.min(capacity, (round + 1) * (capacity / 2)));
      const u = diskUse(dir);
      // One awaited add is one frame; the first run (no checkpoint yet: half a capacity) gives its size.
      if (round === 0) frameBytes = logBytes(dir) / (capacity / 2);
      for (const f of u.files.filter((n) => n.endsWith('.ckpt'))) image = Math.max(image, statSync(join(dir, f)).size);
      seen.push(u.bytes);
      expect(leftovers(u).filter((f) => !f.endsWith('.ckpt.tmp'))).toEqual([]);
      expect(u.files.filter((f) => f.endsWith('.ckpt')).length).toBeLessThanOrEqual(2);
    }
    // Two kept checkpoints and one being written; the log since the older one: a checkpoint comes once a
    // capacity of samples was written after the last, so under two capacities plus the run's last batch,
    // and the segment the cut lands in plus the active one (4 KiB segments). LOCK and meta.json.
    const limit = 3 * image + 3 * capacity * frameBytes + 2 * 4096 + 4096;
    // Before the fix: a restore counted from the restored sample, so no run reached a capacity, nothing was
    // cut, and the log grew by ~97 KB a run (1.6 MB after 16).
    expect(Math.max(...seen), `bytes after each crash: ${seen.join(', ')}; bound ${Math.round(limit)}`).toBeLessThanOrEqual(limit);
    const s = await MetricStore.open({ capacity, partitions: 2, durability: { dir, fsync: 'never', segmentBytes: 4096, checkpointIntervalMs: 3_600_000 } });
    expect(s.stats.live).toBe(capacity);
    await s.close();
    expect(leftovers(diskUse(dir))).toEqual([]);
  }, 60_000);

  it('plateaus while 20 times the capacity goes through one process; clear does not grow it', async () => {
    const dir = tmp();
    const capacity = 2000;
    const s = await MetricStore.open({ capacity, partitions: 2, durability: { dir, fsync: 'never', segmentBytes: 4096, checkpointIntervalMs: 3_600_000 } });
    const keys = Array.from({ length: 100 }, (_, i) => `k${i % 50}`);
    const ones = keys.map(() => 1);
    const add = async (samples: number, from: number): Promise<void> => {
      for (let b = 0; b < samples; b += 100) await s.addMany(keys, keys.map((_, i) => from + b + i), ones);
    };
    // Half a capacity first (no checkpoint yet): the log bytes per sample in frames of 100.
    await add(capacity / 2, 0);
    const perSample = logBytes(dir) / (capacity / 2);
    const seen: number[] = [];
    let image = 0;
    for (let m = 1; m <= 20; m++) {
      await add(capacity, m * capacity);
      const u = diskUse(dir);
      for (const f of u.files.filter((n) => n.endsWith('.ckpt'))) image = Math.max(image, statSync(join(dir, f)).size);
      seen.push(u.bytes);
    }
    // As above: three images, under three capacities of log, two segments, LOCK and meta.json.
    const limit = 3 * image + 3 * capacity * perSample + 2 * 4096 + 4096;
    expect(Math.max(...seen), `bytes after each multiple: ${seen.join(', ')}; bound ${Math.round(limit)}`).toBeLessThanOrEqual(limit);
    const before = diskUse(dir).bytes;
    await s.clear();
    expect(diskUse(dir).bytes).toBeLessThanOrEqual(before + 4096);
    await s.close();
    expect(leftovers(diskUse(dir))).toEqual([]);
  });

  // Frames that carry no sample (keyId, releaseKeyId, clear) start no later sequence: until 2026-12-06 the log was
  // cut by sequence only, so a store that pinned, released and cleared without adding kept every such frame (a
  // loop of them for six seconds: 58 MB in 57 segments, all replayed at each open), and they did not count towards
  // a checkpoint either.
  it('stays bounded while keys are pinned, released and cleared 20 capacities\' worth of times with no sample added', async () => {
    const dir = tmp();
    const capacity = 500;
    const open = () => MetricStore.open({ capacity, partitions: 2, durability: { dir, fsync: 'never' as const, segmentBytes: 4096, checkpointIntervalMs: 3_600_000 } });
    let s = await open();
    await s.add('k', 1, 1);
    const churn = async (frames: number): Promise<void> => {
      for (let i = 0; i < frames; i += 3) {
        const id = await s.keyId(`pin${i % 7}`);
        await s.releaseKeyId(id);
        await s.clear();
      }
    };
    await churn(capacity / 2); // half a capacity of frames, no checkpoint yet: their bytes per frame
    const perFrame = logBytes(dir) / (capacity / 2);
    const seen: number[] = [];
    let image = 0;
    for (let m = 1; m <= 20; m++) {
      await churn(capacity);
      if (m === 10) { // a restart in the middle: what it replays counts too
        await s.close();
        s = await open();
      }
      const u = diskUse(dir);
      for (const f of u.files.filter((n) => n.endsWith('.ckpt'))) image = Math.max(image, statSync(join(dir, f)).size);
      seen.push(u.bytes);
    }
    const limit = 3 * image + 3 * capacity * perFrame + 2 * 4096 + 4096;
    expect(Math.max(...seen), `bytes after each multiple: ${seen.join(', ')}; bound ${Math.round(limit)}`).toBeLessThanOrEqual(limit);
    expect(s.stats.live).toBe(0);
    await s.close();
    const again = await open();
    expect(again.stats.live).toBe(0);
    expect(again.stats.pinnedKeys).toBe(0);
    await again.close();
    expect(leftovers(diskUse(dir))).toEqual([]);
  });

  it('keeps no more log than one session\'s frames over restarts that each pin, release and clear less than a capacity', async () => {
    const dir = tmp();
    const open = () => MetricStore.open({ capacity: 5000, partitions: 2, durability: { dir, fsync: 'never' as const, segmentBytes: 4096, checkpointIntervalMs: 3_600_000 } });
    const seen: number[] = [];
    for (let k = 0; k < 7; k++) {
      const s = await open();
      if (k === 0) await s.add('k', 1, 1);
      for (let i = 0; i < 300; i++) { // 900 frames, no sample: under the capacity, so only close() checkpoints
        const id = await s.keyId(`pin${i % 7}`);
        await s.releaseKeyId(id);
        await s.clear();
      }
      await s.close();
      if (k > 0) seen.push(logBytes(dir));
    }
    // Before the fix each session added its frames (the checkpoint found at open had no position).
    expect(Math.max(...seen), `log bytes after each session: ${seen.join(', ')}`).toBeLessThanOrEqual(seen[0] + 2 * 4096);
    const again = await open();
    expect(again.stats.live).toBe(0);
    await again.close();
  });

});
