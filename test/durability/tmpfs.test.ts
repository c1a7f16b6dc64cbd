// Disk full on a real 1 MiB tmpfs (durability-notes §1: writeSync returns a short count, then ENOSPC).
// Skipped only where mount is not permitted (EPERM: not root, or no CAP_SYS_ADMIN).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore, SegmentLog, type ReplayFrame } from '../../dist/src/durability/index.js';
import { openCollect, prefixOf, put, type Written } from './helpers.js';

let mountPoint = '';
let mounted = false;
let skipReason = '';

beforeAll(() => {
  mountPoint = mkdtempSync(join(tmpdir(), 'rs-tiny-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    const text = `${(err as { stderr?: Buffer }).stderr ?? ''} ${(err as Error).message}`;
    if (!/permission denied|EPERM|must be superuser|Operation not permitted/i.test(text)) throw err;
    skipReason = text.trim();
  }
});

afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe('1 MiB tmpfs', () => {
  it('fills up: RS_ERR_DISK_FULL with nothing partial left, reads and restore work, writes resume once space is freed', (ctx) => {
    if (!mounted) ctx.skip(`mount not permitted: ${skipReason}`);
    const dir = join(mountPoint, 'p0');
    const filler = join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(256 * 1024));
    const log = SegmentLog.open(dir, { fsync: 'always', segmentBytes: 256 * 1024 });
    const written: Written[] = [];
    let refused = 0;
    for (let i = 0; i < 400 && refused < 5; i++) {
      try {
        written.push(put(log, 4, 3000 + (i % 7) * 500));
      } catch (err) {
        expect(err).toMatchObject({ code: 'RS_ERR_DISK_FULL' });
        refused++;
      }
    }
    expect(refused).toBe(5);
    expect(log.failed).toBe(false);
    // Every segment ends on a frame boundary: a second reader finds nothing to cut.
    const frames: ReplayFrame[] = [];
    const report = SegmentLog.verify(dir, (f) => frames.push({ ...f, payload: f.payload.slice() }));
    expect(report.cut).toBeNull();
    expect(prefixOf(frames, written)).toBe(written.length);
    // A checkpoint does not fit either, and leaves nothing behind.
    const checkpoints = CheckpointStore.open(join(mountPoint, 'ck'));
    expect(() => checkpoints.write(1, [new Uint8Array(900 * 1024)])).toThrow(expect.objectContaining({ code: 'RS_ERR_DISK_FULL' }));
    unlinkSync(filler);
    for (let i = 0; i < 20; i++) written.push(put(log, 2, 2000));
    log.close();
    const again = openCollect(dir, { fsync: 'always' });
    expect(prefixOf(again.frames, written)).toBe(written.length);
    again.log.close();
    expect(statSync(dir).isDirectory()).toBe(true);
  });
});
