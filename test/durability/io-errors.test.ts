// I/O errors through FaultIo (durability-notes §6): no space undoes the frame and the log carries on;
// a failed fdatasync or EIO fails the log for good (never retried).
import { describe, expect, it } from 'vitest';
import { CheckpointStore, FaultIo, FrameType, SegmentLog, segmentName } from '../../dist/src/durability/index.js';
import { FDIR, faultLog, openCollect, payload, prefixOf, put, type Written } from './helpers.js';

function catchError(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

describe('no space', () => {
  for (const fault of ['short', 'enospc'] as const) {
    it(`${fault === 'short' ? 'a short count, then ENOSPC,' : 'ENOSPC'} at the Nth write: RS_ERR_DISK_FULL, the frame undone, the next append goes through`, () => {
      for (const mode of ['always', 'interval', 'never'] as const) {
        const io = new FaultIo();
        const { log } = faultLog(io, mode);
        const written: Written[] = [];
        for (let i = 0; i < 5; i++) written.push(put(log, 2, 300));
        const file = log.segmentFiles[0];
        const size = io.fileBytes(file).length;
        io.failWrite(1, fault);
        const seq = log.nextSeq!;
        const err = catchError(() => log.append(FrameType.EVENTS, seq, 4, [payload(seq, 4, 700)]));
        expect(err).toMatchObject({ code: 'RS_ERR_DISK_FULL' });
        expect(err.message).toContain(file);
        expect(io.fileBytes(file).length).toBe(size); // the partial frame was cut off
        expect(log.failed).toBe(false);
        expect(log.nextSeq).toBe(seq);
        written.push(put(log, 4, 700)); // the retry, same sequence
        written.push(put(log, 1, 10));
        io.crash({ powerLoss: false });
        const { frames, log: again } = openCollect(FDIR, { fsync: mode, io });
        expect(again.report.cut).toBeNull();
        expect(prefixOf(frames, written)).toBe(written.length);
        again.close();
      }
    });
  }

  it('a full disk: appends refuse, what is stored stays readable, appends resume once there is room', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'always', { segmentBytes: 8192 });
    io.spaceLimit = 20_000;
    const written: Written[] = [];
    let full = 0;
    for (let i = 0; i < 100; i++) {
      try {
        written.push(put(log, 3, 500));
      } catch (err) {
        expect(err).toMatchObject({ code: 'RS_ERR_DISK_FULL' });
        full++;
      }
    }
    expect(full).toBeGreaterThan(50);
    expect(io.usedBytes()).toBeLessThanOrEqual(20_000);
    expect(log.failed).toBe(false);
    // Reads: a restore of the same files (another process) sees every acked frame, no damage.
    io.crash({ powerLoss: false });
    let r = openCollect(FDIR, { fsync: 'always', io });
    expect(r.log.report.cut).toBeNull();
    expect(prefixOf(r.frames, written)).toBe(written.length);
    io.spaceLimit = Infinity;
    for (let i = 0; i < 10; i++) written.push(put(r.log, 3, 500));
    r.log.close();
    io.crash({ unsynced: 'drop' });
    r = openCollect(FDIR, { fsync: 'always', io });
    expect(prefixOf(r.frames, written)).toBe(written.length);
    r.log.close();
  });

  it('no space while starting a segment: RS_ERR_DISK_FULL, the new file removed, the old one stays active', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'interval', { segmentBytes: 4096 });
    const written: Written[] = [];
    while (log.segmentFiles.length < 2) written.push(put(log, 1, 1000));
    const before = log.segmentFiles;
    const seq = log.nextSeq!;
    // The next frame does not fit: the roll's header write fails.
    io.failWrite(1, 'enospc');
    const err = catchError(() => log.append(FrameType.EVENTS, seq, 1, [payload(seq, 1, 4000)]));
    expect(err).toMatchObject({ code: 'RS_ERR_DISK_FULL' });
    expect(log.segmentFiles).toEqual(before);
    expect(io.exists(`${FDIR}/${segmentName(seq)}`)).toBe(false);
    written.push(put(log, 1, 4000));
    expect(log.segmentFiles.length).toBe(3);
    log.close();
    const r = openCollect(FDIR, { fsync: 'interval', io });
    expect(prefixOf(r.frames, written)).toBe(written.length);
    r.log.close();
  });
});

describe('I/O failures', () => {
  it('EIO on fdatasync: RS_ERR_IO, and the log is failed for good: no retry of the sync, no more writes', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'always');
    const written = [put(log, 2, 100)];
    io.failSync(1);
    const seq = log.nextSeq!;
    log.append(FrameType.EVENTS, seq, 1, [payload(seq, 1, 50)]);
    const err = catchError(() => log.commit());
    expect(err).toMatchObject({ code: 'RS_ERR_IO' });
    expect(err.message).toMatch(/fdatasync failed/);
    expect(log.failed).toBe(true);
    const syncs = io.syncs;
    expect(catchError(() => log.commit())).toBe(err);
    expect(catchError(() => log.append(FrameType.EVENTS, seq + 1, 1, []))).toBe(err);
    expect(catchError(() => log.sync())).toBe(err);
    expect(log.tick()).toBe(false);
    log.close(); // closes without syncing
    expect(io.syncs).toBe(syncs);
    // Reopening re-reads what is on disk.
    io.crash({ unsynced: 'drop' });
    const r = openCollect(FDIR, { fsync: 'always', io });
    expect(prefixOf(r.frames, written)).toBe(1);
    r.log.close();
  });

  it('EIO on write: RS_ERR_IO, failed; EIO on the sync under `interval` is just as final', () => {
    let io = new FaultIo();
    let { log } = faultLog(io, 'never');
    put(log, 1, 10);
    io.failWrite(1, 'eio');
    expect(catchError(() => put(log, 1, 10))).toMatchObject({ code: 'RS_ERR_IO' });
    expect(log.failed).toBe(true);

    io = new FaultIo();
    let clock = 0;
    ({ log } = faultLog(io, 'interval', { intervalMs: 100, now: () => clock }));
    put(log, 1, 10);
    io.failSync(1);
    clock += 150;
    expect(catchError(() => log.tick())).toMatchObject({ code: 'RS_ERR_IO' });
    expect(log.failed).toBe(true);
  });
});

describe('a failed commit sync cuts its frames off (nothing acked, nothing kept)', () => {
  it('EIO on the commit\'s fdatasync: the frame is truncated off and the cut synced; a reopen, with or without a power loss, does not replay it', () => {
    for (const mode of ['always', 'interval'] as const) {
      for (const powerLoss of [false, true]) {
        const io = new FaultIo();
        let clock = 0;
        const { log } = faultLog(io, mode, { intervalMs: 100, now: () => clock });
        const written = [put(log, 2, 100)];
        if (mode === 'interval') written.push(put(log, 1, 30)); // committed, not yet synced: acked as written, kept
        const file = log.segmentFiles[0];
        const size = io.fileBytes(file).length;
        const syncs = io.syncs;
        io.failSync(1);
        clock += 150; // interval: this commit syncs
        const seq = log.nextSeq!;
        log.append(FrameType.EVENTS, seq, 3, [payload(seq, 3, 70)]);
        const err = catchError(() => log.commit());
        expect(err).toMatchObject({ code: 'RS_ERR_IO' });
        expect(err.message).toMatch(/fdatasync failed.*cut off/);
        expect(io.fileBytes(file).length).toBe(size);
        expect(io.syncs).toBe(syncs + 2); // the failed one, then the cut's (never the failed one again)
        expect(log.failed).toBe(true);
        expect(catchError(() => log.commit())).toBe(err);
        log.close();
        io.crash({ powerLoss, unsynced: 'keep' });
        const r = openCollect(FDIR, { fsync: mode, io });
        expect(r.log.report.cut).toBeNull();
        expect(prefixOf(r.frames, written)).toBe(written.length);
        r.log.close();
      }
    }
  });

  it('the cut\'s own sync fails, or the truncation does: RS_ERR_IO_UNKNOWN for that commit, RS_ERR_IO after', () => {
    for (const fault of ['sync', 'truncate'] as const) {
      const io = new FaultIo();
      const { log } = faultLog(io, 'always');
      const written = [put(log, 2, 100)];
      io.failSync(1); // the commit's
      if (fault === 'sync') io.failSync(2); // the cut's
      else io.failTruncate(1);
      const seq = log.nextSeq!;
      log.append(FrameType.EVENTS, seq, 1, [payload(seq, 1, 50)]);
      const err = catchError(() => log.commit());
      expect(err).toMatchObject({ code: 'RS_ERR_IO_UNKNOWN' });
      expect(err.message).toContain('may or may not have been stored');
      const later = catchError(() => log.commit());
      expect(later).toMatchObject({ code: 'RS_ERR_IO' });
      expect(later.message).toMatch(/fdatasync failed/);
      expect(log.failed).toBe(true);
      log.close();
      // A process crash (same boot): the truncation that went through holds; the one that failed does not.
      io.crash({ powerLoss: false });
      const r = openCollect(FDIR, { fsync: 'always', io });
      expect(prefixOf(r.frames, [...written, { type: FrameType.EVENTS, firstSeq: seq, count: 1, bytes: 50 }])).toBe(fault === 'sync' ? 1 : 2);
      r.log.close();
    }
  });

  it('uncommitted frames split by a segment roll cannot be cut: RS_ERR_IO_UNKNOWN; one segment\'s worth can', () => {
    for (const roll of [false, true]) {
      const io = new FaultIo();
      const { log } = faultLog(io, 'always', { segmentBytes: 4096 });
      put(log, 1, 100);
      const segs = log.segmentFiles.length;
      // Two frames, one commit: the second one rolls when it does not fit (the first is synced before it).
      let seq = log.nextSeq!;
      log.append(FrameType.EVENTS, seq, 1, [payload(seq, 1, roll ? 3000 : 500)]);
      seq = log.nextSeq!;
      log.append(FrameType.EVENTS, seq, 1, [payload(seq, 1, roll ? 3000 : 500)]);
      expect(log.segmentFiles.length).toBe(roll ? segs + 1 : segs);
      io.failSync(1);
      const err = catchError(() => log.commit());
      expect(err).toMatchObject({ code: roll ? 'RS_ERR_IO_UNKNOWN' : 'RS_ERR_IO' });
      if (roll) expect(err.message).toContain('span a segment roll');
      else expect(log.nextSeq).toBe(seq - 1); // both frames cut: the log would go on where they began
      log.close();
    }
  });

  it('a failed sync with nothing uncommitted (sync() before a checkpoint, tick()) cuts nothing: RS_ERR_IO, acked frames stay', () => {
    for (const call of ['sync', 'tick'] as const) {
      const io = new FaultIo();
      let clock = 0;
      const { log } = faultLog(io, 'interval', { intervalMs: 100, now: () => clock });
      const written = [put(log, 2, 100), put(log, 1, 40)];
      const size = io.fileBytes(log.segmentFiles[0]).length;
      const durable = log.durableSeq;
      io.failSync(1);
      clock += 150;
      const err = catchError(() => (call === 'sync' ? log.sync() : log.tick()));
      expect(err).toMatchObject({ code: 'RS_ERR_IO' });
      expect(err.message).not.toMatch(/cut off/);
      expect(io.fileBytes(log.segmentFiles[0]).length).toBe(size);
      expect(log.durableSeq).toBe(durable); // nothing may claim them fsynced: a checkpoint waits on sync()
      log.close();
      io.crash({ powerLoss: false });
      const r = openCollect(FDIR, { fsync: 'interval', io });
      expect(prefixOf(r.frames, written)).toBe(2);
      r.log.close();
    }
  });
});

describe('checkpoint write errors', () => {
  it('no space: RS_ERR_DISK_FULL, no temp file left, the previous checkpoint intact; EIO on its sync: RS_ERR_IO', () => {
    const io = new FaultIo();
    let store = CheckpointStore.open(FDIR, { io });
    store.write(10, [new Uint8Array(100).fill(1)]);
    io.failWrite(1, 'short');
    expect(catchError(() => store.write(20, [new Uint8Array(5000)]))).toMatchObject({ code: 'RS_ERR_DISK_FULL' });
    expect(io.readdir(FDIR).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    io.failSync(1);
    expect(catchError(() => store.write(20, [new Uint8Array(5000)]))).toMatchObject({ code: 'RS_ERR_IO' });
    io.crash();
    store = CheckpointStore.open(FDIR, { io });
    expect(store.latest).toMatchObject({ coveredThroughSeq: 10 });
    expect(store.latest!.data).toEqual(new Uint8Array(100).fill(1));
  });
});
