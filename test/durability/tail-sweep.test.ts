// The restore rules, swept byte by byte (durability-notes §4 and §9 item 2): damage to the last frame is a
// torn tail (N-1 frames), damage anywhere earlier is refused with the file and offset, and repair cuts there.
import { describe, expect, it } from 'vitest';
import {
  FaultIo, FrameType, LogCorruptError, SegmentLog, frameBytes, readFrame, segmentName, type FsyncMode,
} from '../../dist/src/durability/index.js';
import { FDIR, faultLog, openCollect, prefixOf, put, type Written } from './helpers.js';

const N = 6;
const SEG = `${FDIR}/${segmentName(1)}`;

/**
 * N frames of assorted sizes in one segment, the process then killed (no
 * clean close, so no sync marker). `interval` syncs at every commit
 * (intervalMs 0), so later frames record earlier ones as fsynced.
 */
function build(mode: FsyncMode): { io: FaultIo; written: Written[]; bytes: Uint8Array; offsets: number[] } {
  const io = new FaultIo();
  const { log } = faultLog(io, mode, { intervalMs: 0 });
  const written: Written[] = [];
  for (let i = 0; i < N; i++) written.push(put(log, i % 3 === 2 ? 0 : i + 1, 13 + i * 7, i % 3 === 2 ? 17 : 16));
  io.crash({ powerLoss: false });
  const bytes = io.fileBytes(SEG).slice();
  const offsets: number[] = [];
  for (let at = 0; at < bytes.length;) {
    const f = readFrame(bytes, at);
    if (!f.ok) throw new Error('unreadable test segment');
    offsets.push(at);
    at = f.next;
  }
  expect(offsets.length).toBe(N + 1); // the header, then N frames
  return { io, written, bytes, offsets };
}

/** Restores `bytes` as the segment; returns the log report and frames, or the error. */
function restore(io: FaultIo, bytes: Uint8Array, mode: FsyncMode) {
  io.setFileBytes(SEG, bytes);
  try {
    const { log, frames } = openCollect(FDIR, { fsync: mode, io });
    log.close();
    return { report: log.report, frames, error: null };
  } catch (error) {
    return { report: null, frames: [], error: error as Error };
  }
}

function expectTorn(r: ReturnType<typeof restore>, written: Written[], cutAt: number, size: number): void {
  expect(r.error).toBeNull();
  expect(prefixOf(r.frames, written)).toBe(N - 1);
  expect(r.report!.cut).toMatchObject({ verdict: 'torn', offset: cutAt, file: SEG });
  expect(r.report!.bytesTruncated).toBe(size - cutAt);
  expect(r.report!.nextSeq).toBe(written[N - 1].firstSeq);
}

for (const mode of ['always', 'interval', 'never'] as const) {
  describe(`tail sweep [${mode}]`, () => {
    it('truncating the last frame at every byte, zero-filling it from every 8-byte boundary, and flipping each of its bits gives N-1 frames and "torn"', () => {
      const { io, written, bytes, offsets } = build(mode);
      const last = offsets[N];
      let cases = 0;
      for (let cut = last + 1; cut < bytes.length; cut++, cases++) expectTorn(restore(io, bytes.subarray(0, cut), mode), written, last, cut);
      const clean = restore(io, bytes.subarray(0, last), mode); // cut exactly at a frame boundary: nothing to report
      expect(clean.report!.cut).toBeNull();
      expect(prefixOf(clean.frames, written)).toBe(N - 1);
      for (let z = last; z < bytes.length; z += 8, cases++) {
        const b = bytes.slice();
        b.fill(0, z);
        expectTorn(restore(io, b, mode), written, last, b.length);
      }
      for (let bit = last * 8; bit < bytes.length * 8; bit++, cases++) {
        const b = bytes.slice();
        b[bit >> 3] ^= 1 << (bit & 7);
        expectTorn(restore(io, b, mode), written, last, b.length);
      }
      expect(cases).toBeGreaterThan(700);
      // After the cut, the log goes on from the right sequence.
      const { log } = openCollect(FDIR, { fsync: mode, io });
      expect(log.nextSeq).toBe(written[N - 1].firstSeq);
      put(log, 2, 40);
      log.close();
    });

    if (mode !== 'never') {
      it('a flipped byte in any earlier frame, or in the segment header, is refused with the file and offset', () => {
        const { io, bytes, offsets } = build(mode);
        for (let k = 0; k < N; k++) {
          for (let at = offsets[k]; at < offsets[k + 1]; at += k === 0 ? 1 : 5) {
            const b = bytes.slice();
            b[at] ^= 0x40;
            const r = restore(io, b, mode);
            expect(r.error, `byte ${at} of frame ${k}`).toBeInstanceOf(LogCorruptError);
            expect(r.error).toMatchObject({ code: 'RS_ERR_LOG_CORRUPT', file: SEG, offset: offsets[k] });
            expect(r.error!.message).toContain(`${SEG} is corrupt at offset ${offsets[k]}`);
          }
        }
      });
    }
  });
}

describe('damage before the tail', () => {
  it('`never`: damage with only unsynced frames after it is power-loss damage: cut there, dropped frames reported', () => {
    const { io, written, bytes, offsets } = build('never');
    const b = bytes.slice();
    b[offsets[2] + 20] ^= 1;
    const r = restore(io, b, 'never');
    expect(r.error).toBeNull();
    expect(prefixOf(r.frames, written)).toBe(1);
    expect(r.report).toMatchObject({ cut: { verdict: 'unsynced', offset: offsets[2] }, framesDropped: N - 2, bytesTruncated: bytes.length - offsets[2] });
  });

  it('the evidence rule at its bound: a later frame recording exactly the damaged frame\'s first sequence as fsynced', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'interval', { intervalMs: 0 });
    put(log, 2, 30);
    put(log, 1, 30); // F: sequence 3
    put(log, 1, 30); // G: written after F was fsynced, records durableSeq 3
    io.crash({ powerLoss: false });
    const b = io.fileBytes(SEG).slice();
    const offsets = [0];
    while (offsets.length < 4) offsets.push((readFrame(b, offsets.at(-1)!) as { next: number }).next);
    expect(readFrame(b, offsets[3])).toMatchObject({ ok: true, durableSeq: 3 });
    b[offsets[2] + 40] ^= 1;
    expect(restore(io, b, 'interval').error).toMatchObject({ code: 'RS_ERR_LOG_CORRUPT', offset: offsets[2] });
  });

  it('`always`: a damaged count-0 frame followed by another is refused, though no durableSeq can prove it synced', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'always');
    put(log, 2, 30);
    put(log, 0, 30, FrameType.PURGE); // F at sequence 3: fsynced, but durableSeq stays 2
    put(log, 0, 30, FrameType.CLEAR);
    io.crash({ powerLoss: false });
    const b = io.fileBytes(SEG).slice();
    const f = (readFrame(b, (readFrame(b, 0) as { next: number }).next) as { next: number }).next;
    b[f + 40] ^= 1;
    expect(restore(io, b, 'always').error).toMatchObject({ code: 'RS_ERR_LOG_CORRUPT', offset: f });
  });

  it('`interval`: damage at the end of a segment that has a successor is refused (rolling fsyncs the old segment)', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'interval', { intervalMs: 1e9, segmentBytes: 4096 });
    put(log, 2, 30);
    put(log, 0, 3000, FrameType.PURGE); // F, the last frame of the first segment
    put(log, 3, 3000); // rolls: the first segment is fsynced, nothing after is
    expect(log.segmentFiles).toHaveLength(2);
    io.crash({ powerLoss: false });
    const b = io.fileBytes(SEG).slice();
    const f = (readFrame(b, (readFrame(b, 0) as { next: number }).next) as { next: number }).next;
    b[f + 100] ^= 1;
    expect(restore(io, b, 'interval').error).toMatchObject({ code: 'RS_ERR_LOG_CORRUPT', file: SEG, offset: f });
  });

  it('`never` after a clean close: the sync marker proves the frames were fsynced, so damage is refused', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'never');
    for (let i = 0; i < N; i++) put(log, 2, 50);
    log.close();
    const b = io.fileBytes(SEG).slice();
    b[200] ^= 1;
    io.setFileBytes(SEG, b);
    expect(() => SegmentLog.open(FDIR, { fsync: 'never', io })).toThrow(LogCorruptError);
  });

  it('a flipped byte in an earlier segment is refused naming that segment; repair keeps .broken copies and cuts there', () => {
    for (const mode of ['always', 'interval', 'never'] as const) {
      const io = new FaultIo();
      const { log } = faultLog(io, mode, { segmentBytes: 4096 });
      const written: Written[] = [];
      for (let i = 0; i < 40; i++) written.push(put(log, 3, 300));
      log.close();
      const files = log.segmentFiles;
      expect(files.length).toBeGreaterThan(2);
      const first = files[0];
      const original = io.fileBytes(first).slice();
      const offsets: number[] = [];
      for (let at = 0; at < original.length; at = (readFrame(original, at) as { next: number }).next) offsets.push(at);
      const damaged = original.slice();
      damaged[offsets[3] + 40] ^= 0x10;
      io.setFileBytes(first, damaged);
      let err: unknown;
      try {
        SegmentLog.open(FDIR, { fsync: mode, io });
      } catch (e) {
        err = e;
      }
      expect(err, mode).toMatchObject({ code: 'RS_ERR_LOG_CORRUPT', file: first, offset: offsets[3] });

      const report = SegmentLog.repair(FDIR, { io });
      expect(report.cut).toMatchObject({ verdict: 'repaired', file: first, offset: offsets[3] });
      expect(report.cut!.brokenCopies).toEqual([`${first}.broken`, ...files.slice(1).map((f) => `${f}.broken`)]);
      expect(Buffer.from(io.fileBytes(`${first}.broken`))).toEqual(Buffer.from(damaged));
      expect(io.fileBytes(first).length).toBe(offsets[3]);
      const { log: again, frames } = openCollect(FDIR, { fsync: mode, io });
      expect(again.report.cut).toBeNull();
      expect(prefixOf(frames, written)).toBe(2);
      put(again, 1, 10); // and the log goes on
      again.close();
    }
  });

  it('a missing middle segment, an overlap, and an out-of-sequence frame are refused', () => {
    const make = () => {
      const io = new FaultIo();
      const { log } = faultLog(io, 'always', { segmentBytes: 4096 });
      for (let i = 0; i < 30; i++) put(log, 2, 300);
      log.close();
      return { io, files: log.segmentFiles };
    };
    let { io, files } = make();
    io.unlink(files[1]);
    expect(() => SegmentLog.open(FDIR, { fsync: 'always', io })).toThrow(/sequences \d+\.\.\d+ are missing/);
    ({ io, files } = make());
    io.rename(files[2], `${FDIR}/${segmentName(3)}`);
    expect(() => SegmentLog.open(FDIR, { fsync: 'always', io })).toThrow(/starts at sequence 3 but/);
    ({ io, files } = make());
    const last = files.at(-1)!;
    const stray = frameBytes({ type: 16, firstSeq: 1000, count: 1, durableSeq: 0 }, [new Uint8Array(9)]);
    io.setFileBytes(last, new Uint8Array([...io.fileBytes(last), ...stray]));
    expect(() => SegmentLog.open(FDIR, { fsync: 'always', io })).toThrow(/starts at sequence 1000 but 61 was expected/);
  });
});
