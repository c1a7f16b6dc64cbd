// Bounded disk (durability-notes §9 item 7): writing 20x a live window while deleting through a moving
// sequence keeps the segment count (and bytes) bounded at every step.
import { describe, expect, it } from 'vitest';
import { CheckpointStore, FaultIo, SegmentLog, isCovered, seededRandom } from '../../dist/src/durability/index.js';
import { FDIR, payload } from './helpers.js';

const LIVE = 2000; // events the "ring" holds
const EVENT_BYTES = 100;
const SEGMENT_BYTES = 64 * 1024;
const MAX_DRAIN = 40;
// Worst case per event on disk: its bytes plus a whole frame header and padding (1-event drains).
const DISK_PER_EVENT = EVENT_BYTES + 32 + 8;

function segmentBytesOnDisk(io: FaultIo, log: SegmentLog): number {
  return log.segmentFiles.reduce((n, f) => n + io.fileBytes(f).length, 0);
}

function drive(checkpointEvery: number | null): { maxSegments: number; bound: number; rolls: number } {
  const io = new FaultIo();
  const random = seededRandom(7);
  const log = SegmentLog.open(FDIR, { fsync: 'always', segmentBytes: SEGMENT_BYTES, io });
  const checkpoints = checkpointEvery ? CheckpointStore.open(`${FDIR}/ck`, { io }) : null;
  // Events the log must still hold: the live window, plus what the older kept checkpoint does not cover.
  const lag = checkpointEvery ? 2 * checkpointEvery + MAX_DRAIN : 0;
  const bound = Math.ceil(((LIVE + lag + MAX_DRAIN) * DISK_PER_EVENT) / SEGMENT_BYTES) + 2;
  let maxSegments = 0;
  let sinceCheckpoint = 0;
  const seen = new Set<string>();
  for (let seq = 1; seq <= 20 * LIVE;) {
    const n = 1 + Math.floor(random() * MAX_DRAIN);
    log.append(16, seq, n, [payload(seq, n, n * EVENT_BYTES)]);
    log.commit();
    seq += n;
    const oldestLive = Math.max(1, seq - LIVE);
    let through = oldestLive - 1;
    if (checkpoints) {
      sinceCheckpoint += n;
      if (sinceCheckpoint >= checkpointEvery!) {
        log.sync();
        checkpoints.write(log.durableSeq, [new Uint8Array(64)]);
        sinceCheckpoint = 0;
      }
      through = Math.min(through, checkpoints.deletableThrough ?? 0);
    }
    log.deleteThrough(through);
    for (const f of log.segmentFiles) seen.add(f);
    maxSegments = Math.max(maxSegments, log.segmentFiles.length);
    expect(log.segmentFiles.length).toBeLessThanOrEqual(bound);
    expect(segmentBytesOnDisk(io, log)).toBeLessThanOrEqual(bound * SEGMENT_BYTES);
    // Nothing live was deleted: the log still starts at or before the oldest live event.
    expect(log.firstSeq!).toBeLessThanOrEqual(oldestLive);
  }
  log.close();
  return { maxSegments, bound, rolls: seen.size };
}

describe('bounded disk', () => {
  it('deleting through the oldest live sequence: at most ceil(window / segment) + 2 segments at every step', () => {
    const r = drive(null);
    expect(r.rolls).toBeGreaterThan(40); // the window wrapped many times
    expect(r.maxSegments).toBeLessThanOrEqual(r.bound);
    expect(r.bound).toBe(7);
  });

  it('with checkpoints: deleting through the older kept checkpoint stays bounded too', () => {
    const r = drive(500);
    expect(r.rolls).toBeGreaterThan(40);
    expect(r.maxSegments).toBeLessThanOrEqual(r.bound);
  });

  it('deleteThrough keeps the active segment, and a segment goes only once every frame in it is covered', () => {
    const io = new FaultIo();
    const log = SegmentLog.open(FDIR, { fsync: 'always', segmentBytes: 4096, io });
    for (let seq = 1; seq <= 30; seq += 10) {
      log.append(16, seq, 10, [new Uint8Array(3000)]);
      log.commit();
    }
    log.append(17, 31, 0, [new Uint8Array(10)]); // a purge after event 30, in the third segment
    log.commit();
    expect(log.segmentFiles.length).toBe(3); // 1, 11, 21
    expect(log.deleteThrough(9)).toBe(0);
    expect(log.deleteThrough(10)).toBe(0); // the next segment starts at 11: 1..10 is covered only through 11
    expect(log.deleteThrough(11)).toBe(1);
    expect(log.deleteThrough(1000)).toBe(1); // never the active one
    expect(log.segmentFiles.length).toBe(1);
    expect(isCovered({ firstSeq: 31, count: 0 }, 30)).toBe(false); // a control frame at S+1 is replayed
    expect(isCovered({ firstSeq: 31, count: 0 }, 31)).toBe(true);
    expect(isCovered({ firstSeq: 21, count: 10 }, 30)).toBe(true);
    expect(isCovered({ firstSeq: 21, count: 10 }, 29)).toBe(false);
    expect(() => log.deleteThrough(1.5)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    log.close();
  });
});
