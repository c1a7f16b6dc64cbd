// SegmentLog's interface: validation at the bounds, rolling, modes, replay, verify, zero-copy writes.
import { readFileSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FaultIo, FrameType, SegmentLog, nodeIo, readFrame, segmentName, type ReplayFrame,
} from '../../dist/src/durability/index.js';
import { FDIR, faultLog, openCollect, payload, prefixOf, put, spyIo, tmpDir, type Written } from './helpers.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('SegmentLog', () => {
  it('validates options and append arguments at their bounds', () => {
    const dir = tmpDir();
    for (const bad of [{ fsync: 'sometimes' }, { fsync: 'always', intervalMs: -1 }, { fsync: 'always', segmentBytes: 4095 }, { fsync: 'always', segmentBytes: 1.5e4 + 0.5 }]) {
      expect(() => SegmentLog.open(dir, bad as never)).toThrow(code('RS_ERR_INVALID_OPTION'));
    }
    expect(() => SegmentLog.open('', { fsync: 'always' })).toThrow(code('RS_ERR_INVALID_OPTION'));
    const log = SegmentLog.open(dir, { fsync: 'always', segmentBytes: 4096 });
    expect(log.nextSeq).toBeNull();
    for (const type of [0, 1, 2, 15, 256, 16.5]) expect(() => log.append(type, 1, 1, [])).toThrow(code('RS_ERR_INVALID_ARGUMENT'));
    for (const count of [-1, 2 ** 32, 0.5]) expect(() => log.append(16, 1, count, [])).toThrow(code('RS_ERR_INVALID_ARGUMENT'));
    for (const seq of [-1, 2 ** 53, 1.5]) expect(() => log.append(16, seq, 1, [])).toThrow(code('RS_ERR_INVALID_ARGUMENT'));
    expect(() => log.append(16, 2 ** 53 - 2, 2, [])).toThrow(code('RS_ERR_INVALID_ARGUMENT'));
    expect(() => log.append(16, 1, 1, 'x' as never)).toThrow(code('RS_ERR_INVALID_ARGUMENT'));
    expect(() => log.append(16, 1, 1, [[1, 2] as never])).toThrow(code('RS_ERR_INVALID_ARGUMENT'));
    expect(readdirSync(dir)).toEqual([]); // nothing written by refused appends
    log.append(255, 1000, 2 ** 32 - 1, []); // an empty log takes any start; the widest frame is fine
    expect(log.nextSeq).toBe(1000 + 2 ** 32 - 1);
    for (const seq of [999 + 2 ** 32 - 1, 1001 + 2 ** 32 - 1]) expect(() => log.append(16, seq, 1, [])).toThrow(/continues at/);
    log.append(FrameType.RESET, log.nextSeq!, 0, []);
    log.close();
    log.close();
    expect(() => log.append(16, 5, 1, [])).toThrow(code('RS_ERR_CLOSED'));
    expect(() => log.commit()).toThrow(code('RS_ERR_CLOSED'));
  });

  it('replays every frame in order after a reopen, with the report, and continues the sequence', () => {
    const dir = tmpDir();
    let { log } = openCollect(dir, { fsync: 'interval', segmentBytes: 8192 });
    const written: Written[] = [];
    for (let i = 0; i < 60; i++) written.push(put(log, i % 5, 20 + ((i * 37) % 600), i % 5 === 0 ? FrameType.PURGE : FrameType.EVENTS));
    log.close();
    let frames: ReplayFrame[];
    ({ log, frames } = openCollect(dir, { fsync: 'interval', segmentBytes: 8192 }));
    expect(prefixOf(frames, written)).toBe(60);
    const events = written.reduce((n, w) => n + w.count, 0);
    expect(log.report).toMatchObject({ records: 60, events, bytesTruncated: 0, cut: null, firstSeq: 1, nextSeq: 1 + events });
    expect(log.report.segments).toBe(log.segmentFiles.length);
    expect(log.report.ms).toBeGreaterThan(0);
    expect(frames[3].file).toBe(log.segmentFiles[0]);
    written.push(put(log, 3, 10));
    log.close();
    expect(prefixOf(openCollect(dir, { fsync: 'interval' }).frames, written)).toBe(61);
  });

  it('rolls at the segment size; names are the first sequence; a frame bigger than a segment gets one of its own', () => {
    const dir = tmpDir();
    const log = SegmentLog.open(dir, { fsync: 'never', segmentBytes: 4096 });
    let seq = 1;
    for (const bytes of [1000, 1000, 1000, 1000, 9000, 10, 1000]) {
      log.append(16, seq, 2, [payload(seq, 2, bytes)]);
      seq += 2;
    }
    log.close();
    const files = readdirSync(dir).sort();
    expect(files).toEqual([segmentName(1), segmentName(7), segmentName(9), segmentName(11)]);
    for (const f of files) {
      const size = statSync(join(dir, f)).size;
      if (f !== segmentName(9)) expect(size).toBeLessThanOrEqual(4096);
    }
  });

  it('segments that hold only count-0 frames are followed by <seq>.<gen>.seg, and restore keeps them in order', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'always', { segmentBytes: 4096 });
    const written: Written[] = [put(log, 1, 100)];
    for (let i = 0; i < 6; i++) written.push(put(log, 0, 2500, FrameType.PURGE)); // the first fits in segment 1
    written.push(put(log, 1, 100));
    log.close();
    expect(io.readdir(FDIR).sort()).toEqual([segmentName(1), segmentName(2), ...[1, 2, 3, 4].map((g) => segmentName(2, g))].sort());
    expect(segmentName(2, 1)).toBe('00000000000000000002.1.seg');
    const again = openCollect(FDIR, { fsync: 'always', io });
    expect(prefixOf(again.frames, written)).toBe(written.length);
    expect(again.log.deleteThrough(1)).toBe(0); // the control frames at 2 are not covered by 1
    expect(again.log.deleteThrough(2)).toBe(5);
    again.log.close();
  });

  it('position and deleteBefore: the segments sealed before a position go, count-0 ones included; bad positions are refused', () => {
    const io = new FaultIo();
    const { log } = faultLog(io, 'always', { segmentBytes: 4096 });
    put(log, 1, 100);
    for (let i = 0; i < 6; i++) put(log, 0, 2500, FrameType.PURGE); // segments 2, 2.1 .. 2.4 (count 0: all start at 2)
    expect(log.position).toEqual({ seq: 2, gen: 4 });
    const at = log.position!;
    put(log, 0, 2500, FrameType.PURGE); // written after the position: 2.5
    expect(log.deleteThrough(1)).toBe(0); // by sequence nothing at 2 is covered
    expect(log.deleteBefore(at)).toBe(5); // 1, 2, 2.1, 2.2, 2.3: sealed before 2.4; 2.4 and 2.5 stay
    expect(log.segmentFiles.map((f) => f.split('/').pop())).toEqual([segmentName(2, 4), segmentName(2, 5)]);
    expect(log.deleteBefore(at)).toBe(0);
    for (const bad of [null, {}, { seq: 1.5, gen: 0 }, { seq: 2, gen: -1 }, { seq: 2, gen: Infinity }]) {
      expect(() => log.deleteBefore(bad as never)).toThrow(code('RS_ERR_INVALID_ARGUMENT'));
    }
    log.close();
  });

  it('reopening with another fsync mode starts a new segment (a segment never mixes modes)', () => {
    const io = new FaultIo();
    let { log } = faultLog(io, 'never');
    put(log, 2, 10);
    log.close();
    ({ log } = faultLog(io, 'always'));
    expect(log.segmentFiles).toHaveLength(1);
    put(log, 2, 10);
    expect(log.segmentFiles.map((f) => f.split('/').pop())).toEqual([segmentName(1), segmentName(3)]);
    log.close();
    ({ log } = faultLog(io, 'always'));
    put(log, 2, 10);
    expect(log.segmentFiles).toHaveLength(2);
    log.close();
  });

  it('`interval` syncs at a commit once intervalMs has passed, and tick() syncs leftovers when idle', () => {
    const io = new FaultIo();
    let clock = 0;
    const { log } = faultLog(io, 'interval', { intervalMs: 100, now: () => clock });
    put(log, 1, 10);
    const base = io.syncs;
    clock = 50;
    put(log, 1, 10);
    expect(io.syncs).toBe(base);
    expect(log.unsynced).toBe(true);
    expect(log.tick()).toBe(false); // not due yet
    clock = 100;
    put(log, 1, 10); // due: the commit syncs
    expect(io.syncs).toBe(base + 1);
    expect(log.durableSeq).toBe(3);
    clock = 150;
    put(log, 1, 10);
    expect(log.tick()).toBe(false);
    clock = 199;
    expect(log.tick()).toBe(false);
    clock = 200;
    expect(log.tick()).toBe(true);
    expect(log.durableSeq).toBe(4);
    expect(log.unsynced).toBe(false);
    expect(log.tick()).toBe(false); // nothing left
    log.close();
  });

  it('`always` syncs at every commit and `never` not at all (until sync() or close)', () => {
    for (const mode of ['always', 'never'] as const) {
      const io = new FaultIo();
      const { log } = faultLog(io, mode);
      put(log, 1, 10);
      const base = io.syncs;
      for (let i = 0; i < 5; i++) put(log, 1, 10);
      expect(io.syncs - base).toBe(mode === 'always' ? 5 : 0);
      expect(log.durableSeq).toBe(mode === 'always' ? 6 : 0);
      log.sync();
      expect(log.durableSeq).toBe(6);
      log.close();
    }
  });

  it('writes the caller views (shared memory included) with one writev per frame, without copying them', () => {
    const io = spyIo(nodeIo);
    const log = SegmentLog.open(tmpDir(), { fsync: 'always', io });
    const sab = new SharedArrayBuffer(1024);
    const ring = new Uint8Array(sab);
    ring.set(payload(1, 4, 1024));
    const parts = [ring.subarray(900, 1024), ring.subarray(0, 300)]; // a wrap-around
    log.append(16, 1, 4, parts);
    log.commit();
    const frameWrite = io.writes.at(-1)!;
    expect(frameWrite[1]).toBe(parts[0]);
    expect(frameWrite[2]).toBe(parts[1]);
    log.close();
    const got: Uint8Array[] = [];
    SegmentLog.verify(log.dir, (f) => got.push(f.payload.slice()));
    expect(Buffer.from(got[0])).toEqual(Buffer.concat([Buffer.from(parts[0]), Buffer.from(parts[1])]));
  });

  it('verify() reads without changing anything and says what an open would cut', () => {
    const dir = tmpDir();
    const log = SegmentLog.open(dir, { fsync: 'always' });
    for (let i = 0; i < 4; i++) put(log, 1, 100);
    log.close();
    const file = log.segmentFiles[0];
    const size = statSync(file).size;
    truncateSync(file, size - 10); // tear the sync marker
    const report = SegmentLog.verify(dir);
    expect(report).toMatchObject({ records: 4, cut: { verdict: 'torn', file }, bytesTruncated: 22 });
    expect(statSync(file).size).toBe(size - 10);
    expect(() => SegmentLog.verify(join(dir, 'nope'))).toThrow(code('RS_ERR_LOG_CORRUPT'));
    const reopened = SegmentLog.open(dir, { fsync: 'always' });
    expect(reopened.report.cut).toMatchObject({ verdict: 'torn', offset: size - 32 });
    reopened.close();
    const bytes = readFileSync(file);
    expect(readFrame(bytes, size - 32)).toMatchObject({ ok: true, type: FrameType.SYNC }); // a new marker at the clean close
  });
});
