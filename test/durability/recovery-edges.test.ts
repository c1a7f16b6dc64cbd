// Review of the durable paths (branch h-durable): cases where what a store holds in memory, what it told
// the caller and what a restart reads back could disagree. The test of each fix failed before it (verified by reverting).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameType, SegmentLog } from '../../dist/src/durability/index.js';
import { EventStore, MetricStore, type EventStoreOptions } from '../../dist/src/index.js';
import { tmpDir } from './helpers.js';

interface Ev {
  k: string;
  n: number;
}

const tmp = (): string => tmpDir('rs-edges-');
const segments = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

/** Flips one byte of `file` at `at`. */
function flip(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] ^= 0x40;
  writeFileSync(file, bytes);
}

describe('a purge or clear the log refuses (full disk) changes nothing', () => {
  /** A 4 MiB tmpfs for the test (mounting needs root, as on the project's machines: skipped otherwise). */
  function mountTmpfs(ctx: { skip: () => void; onTestFinished: (fn: () => void) => void }): string {
    const root = mkdtempSync(path.join(tmpdir(), 'rs-edges-full-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', root]).status === 0;
    ctx.onTestFinished(() => {
      if (mounted) spawnSync('umount', ['-l', root]); // lazy: a failed test may leave its store open on it
      rmSync(root, { recursive: true, force: true });
    });
    if (!mounted) ctx.skip();
    return root;
  }

  /** Takes every free byte of the file system (a file's last page keeps its slack: see the roll below). */
  function fill(file: string): void {
    const fd = openSync(file, 'w');
    for (const size of [65_536, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
    closeSync(fd);
  }

  for (const op of ['purge', 'clear'] as const) {
    it(`${op}: RS_ERR_DISK_FULL leaves every event live (in memory and after a restart); the retry, once there is room, goes through`, async (ctx) => {
      const root = mountTmpfs(ctx);
      const dir = path.join(root, 'store');
      const opts = (fsync: 'always' | 'interval'): EventStoreOptions<Ev> => ({
        capacity: 1000, partitions: 1, key: 'k', values: { n: 'n' }, durability: { dir, fsync, checkpointIntervalMs: 3_600_000 },
      });
      const run = (s: EventStore<Ev>): Promise<unknown> => (op === 'purge' ? s.purge({ olderThan: Date.now() + 1e9 }) : s.clear());
      let s = await EventStore.open<Ev>(opts('always'));
      for (let i = 0; i < 10; i++) await s.append({ k: `k${i % 3}`, n: i });
      await s.close();
      // Another fsync mode: the next frame, the purge's or the clear's, must start a new segment, which a full disk refuses.
      s = await EventStore.open<Ev>(opts('interval'));
      const filler = path.join(root, 'filler');
      fill(filler);
      await expect(run(s)).rejects.toMatchObject({ code: 'RS_ERR_DISK_FULL' });
      expect((await s.snapshot()).map((e) => e.payload.n)).toEqual([...Array(10).keys()]);
      expect(s.stats).toMatchObject({ live: 10, purged: 0 });
      rmSync(filler);
      await s.close();
      s = await EventStore.open<Ev>(opts('interval'));
      expect((await s.snapshot()).map((e) => e.payload.n)).toEqual([...Array(10).keys()]);
      await run(s);
      expect(s.stats).toMatchObject({ live: 0, purged: 10 });
      await s.close();
      s = await EventStore.open<Ev>(opts('interval'));
      expect(s.stats).toMatchObject({ live: 0, purged: 10 });
      await s.close();
    });
  }
});

describe('a log that ends before its checkpoint (a repair cut it there)', () => {
  const opts = (dir: string, repair = false): EventStoreOptions<Ev> => ({
    capacity: 4096, partitions: 1, key: 'k', values: { n: 'n' },
    durability: { dir, fsync: 'always', segmentBytes: 4096, checkpointIntervalMs: 3_600_000, repair },
  });

  /** 200 events in 1-event drains, then a clean close: its checkpoint covers every frame the log keeps. */
  async function filled(dir: string): Promise<string> {
    const s = await EventStore.open<Ev>(opts(dir));
    for (let i = 0; i < 200; i++) await s.append({ k: `k${i % 5}`, n: i });
    await s.close();
    return path.join(dir, 'p0', 'log');
  }

  it('EventStore: repair opens a store that takes writes again, and keeps them across restarts', async () => {
    const dir = tmp();
    const logDir = await filled(dir);
    flip(path.join(logDir, segments(logDir)[0]), 60); // the first frame after the segment header
    await expect(EventStore.open<Ev>(opts(dir))).rejects.toMatchObject({ code: 'RS_ERR_LOG_CORRUPT' });
    let s = await EventStore.open<Ev>(opts(dir, true));
    expect(s.restored[0]!.bytesTruncated).toBeGreaterThan(0);
    expect((await s.snapshot()).map((e) => e.payload.n)).toEqual([...Array(200).keys()]);
    expect(await s.append({ k: 'k0', n: 200 })).toMatchObject({ position: 201, version: 41 });
    await s.close();
    s = await EventStore.open<Ev>(opts(dir));
    expect((await s.snapshot()).map((e) => e.payload.n)).toEqual([...Array(201).keys()]);
    expect(await s.append({ k: 'k0', n: 201 })).toMatchObject({ position: 202, version: 42 });
    await s.close();
    expect(readdirSync(logDir).some((f) => f.includes('.broken'))).toBe(true);
  });

  it('EventStore: without repair, open refuses with RS_ERR_LOG_CORRUPT (not a partition that fails at its first write)', async () => {
    const dir = tmp();
    const logDir = await filled(dir);
    const last = path.join(logDir, segments(logDir).at(-1)!);
    writeFileSync(last, readFileSync(last).subarray(0, 56)); // only the segment header is left
    const err = await EventStore.open<Ev>(opts(dir)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RS_ERR_LOG_CORRUPT', message: expect.stringContaining(`ends at sequence 190, before its checkpoint (through 200)`) });
    const s = await EventStore.open<Ev>(opts(dir, true));
    expect((await s.append({ k: 'k1', n: 200 })).version).toBe(41);
    await s.close();
  });

  it('MetricStore: repair opens a store that takes writes again, and keeps them across restarts', async () => {
    const dir = tmp();
    const mopts = (repair = false) => ({ capacity: 100, durability: { dir, fsync: 'always' as const, segmentBytes: 4096, checkpointIntervalMs: 3_600_000, repair } });
    let s = await MetricStore.open(mopts());
    for (let i = 0; i < 250; i++) await s.add(`k${i % 3}`, i, 1000 + i);
    const before = { count: s.count(), sum: s.sum(), keys: s.keys() };
    await s.close();
    const logDir = path.join(dir, 'log');
    flip(path.join(logDir, segments(logDir)[0]), 60);
    await expect(MetricStore.open(mopts())).rejects.toMatchObject({ code: 'RS_ERR_LOG_CORRUPT' });
    s = await MetricStore.open(mopts(true));
    expect({ count: s.count(), sum: s.sum(), keys: s.keys() }).toEqual(before);
    await s.add('k0', 1000, 2000);
    await s.close();
    s = await MetricStore.open(mopts());
    expect(s.count()).toBe(before.count);
    expect(s.max('k0')).toBe(1000);
    await s.close();
  });
});

describe('SegmentLog.continueAt at its bounds', () => {
  /** A log holding events 1..10 in frames of one. */
  function ten(dir: string): void {
    const log = SegmentLog.open(dir, { fsync: 'always' });
    for (let seq = 1; seq <= 10; seq++) log.append(FrameType.EVENTS, seq, 1, [new Uint8Array([seq])]);
    log.commit();
    log.close();
  }
  const replayed = (dir: string): number[] => {
    const seqs: number[] = [];
    SegmentLog.open(dir, { fsync: 'always' }, (f) => seqs.push(f.firstSeq)).close();
    return seqs;
  };

  it('at nextSeq and below it, nothing changes; one past it, refused (files untouched) or, under repair, set aside', () => {
    const dir = tmp();
    ten(dir);
    let log = SegmentLog.open(dir, { fsync: 'always' });
    expect(log.continueAt(10, false)).toEqual([]);
    expect(log.continueAt(11, false)).toEqual([]);
    log.close();
    const files = readdirSync(dir).sort();
    const sizes = files.map((f) => readFileSync(path.join(dir, f)).length);
    log = SegmentLog.open(dir, { fsync: 'always' });
    expect(() => log.continueAt(12, false)).toThrow(expect.objectContaining({ code: 'RS_ERR_LOG_CORRUPT' }));
    expect(() => log.append(FrameType.EVENTS, 11, 1, [])).toThrow(expect.objectContaining({ code: 'RS_ERR_CLOSED' }));
    expect(readdirSync(dir).sort()).toEqual(files);
    expect(files.map((f) => readFileSync(path.join(dir, f)).length)).toEqual(sizes);
    log = SegmentLog.open(dir, { fsync: 'always' });
    const moved = log.continueAt(12, true);
    expect(moved.length).toBe(files.length);
    expect(log.nextSeq).toBeNull();
    log.append(FrameType.EVENTS, 12, 2, [new Uint8Array(3)]);
    log.close();
    expect(replayed(dir)).toEqual([12]);
    expect(readdirSync(dir).filter((f) => f.includes('.broken')).length).toBe(files.length);
  });
});

describe('open errors are typed', () => {
  it('a data directory that cannot be made (a file is in the way) rejects with RS_ERR_IO naming it, for both stores', async () => {
    const root = tmp();
    const file = path.join(root, 'not-a-dir');
    writeFileSync(file, 'x');
    const metricDir = path.join(root, 'metrics');
    await MetricStore.open({ capacity: 10, durability: { dir: metricDir } }).then((s) => s.close());
    rmSync(path.join(metricDir, 'checkpoints'), { recursive: true });
    writeFileSync(path.join(metricDir, 'checkpoints'), 'x');
    for (const dir of [file, path.join(file, 'sub')]) {
      const e1 = await EventStore.open<Ev>({ key: 'k', partitions: 1, durability: { dir } }).catch((e: unknown) => e);
      expect(e1).toMatchObject({ name: 'RingstoreError', code: 'RS_ERR_IO', message: expect.stringContaining(file) });
      const e2 = await MetricStore.open({ capacity: 10, durability: { dir } }).catch((e: unknown) => e);
      expect(e2).toMatchObject({ name: 'RingstoreError', code: 'RS_ERR_IO', message: expect.stringContaining(file) });
    }
    const e3 = await MetricStore.open({ capacity: 10, durability: { dir: metricDir } }).catch((e: unknown) => e);
    expect(e3).toMatchObject({ name: 'RingstoreError', code: 'RS_ERR_IO', message: expect.stringContaining(metricDir) });
    // The lock was released: once the file is out of the way, the directory opens.
    rmSync(path.join(metricDir, 'checkpoints'));
    await (await MetricStore.open({ capacity: 10, durability: { dir: metricDir } })).close();
  });
});

describe('segment rotation at the exact bound', () => {
  it('a frame one word short of the room, exactly the room, one word over: it fits, fits, rolls; every frame replays', () => {
    for (const [extra, files] of [[-8, [4088, 120]], [0, [4096, 120]], [8, [192, 4032]]] as const) {
      const dir = tmp();
      const log = SegmentLog.open(dir, { fsync: 'always', segmentBytes: 4096 });
      log.append(FrameType.EVENTS, 1, 1, [new Uint8Array(100)]); // 56-byte segment header + 136: 192 used
      log.append(FrameType.EVENTS, 2, 1, [new Uint8Array(4096 - 192 + extra - 32)]); // 32-byte frame header
      log.append(FrameType.EVENTS, 3, 1, []); // 32 bytes: rolls unless 32 are left
      log.close(); // + a 32-byte sync marker
      const names = segments(dir);
      expect(names.map((f) => readFileSync(path.join(dir, f)).length)).toEqual(files);
      const seqs: number[] = [];
      SegmentLog.open(dir, { fsync: 'always' }, (f) => seqs.push(f.firstSeq)).close();
      expect(seqs).toEqual([1, 2, 3]);
    }
  });
});
