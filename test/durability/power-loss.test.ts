// Simulated power loss through FaultIo (durability-notes §9 item 4): unsynced data is dropped at random
// (a random prefix of each file's unsynced writes survives, the next one torn at a 512 B boundary, names
// not yet in a synced directory vanish). Per mode: `always` loses no committed frame, `interval` loses only
// the last window, `never` keeps a gap-free prefix; restore never refuses crash damage.
import { describe, expect, it } from 'vitest';
import { FaultIo, FrameType, SegmentLog, seededRandom, type FsyncMode } from '../../dist/src/durability/index.js';
import { FDIR, PowerCut, dieAt, openCollect, payload, prefixOf, put, type Written } from './helpers.js';

const INTERVAL_MS = 50;
const MAX_STEP_MS = 20;

interface Stats {
  crashes: number;
  lostFrames: number;
  cuts: number;
  unsyncedCuts: number;
}

/** Two rounds of: random drains (rolling small segments), power loss, restore; checks the mode's promise. */
function run(mode: FsyncMode, seed: number, stats: Stats): void {
  const random = seededRandom(seed);
  const io = new FaultIo();
  let clock = 0;
  const options = { fsync: mode, io, segmentBytes: 4096, intervalMs: INTERVAL_MS, now: () => clock };
  let log = SegmentLog.open(FDIR, options);
  let written: Written[] = [];
  let syncedFrames = 0; // frames written before the last fdatasync the log made
  for (let round = 0; round < 2; round++) {
    const drains = Math.floor(random() * 40);
    const at: number[] = written.map(() => -Infinity);
    for (let i = 0; i < drains; i++) {
      clock += random() * MAX_STEP_MS;
      const control = random() < 0.15;
      written.push(put(log, control ? 0 : 1 + Math.floor(random() * 5), Math.floor(random() * 900), control ? FrameType.PURGE : FrameType.EVENTS));
      at.push(clock);
      if (!log.unsynced) syncedFrames = written.length;
      if (random() < 0.1) {
        clock += random() * 2 * INTERVAL_MS;
        if (log.tick()) syncedFrames = written.length;
      }
    }
    const committed = written.length;
    if (random() < 0.5) {
      // A drain in flight: written, not committed (not acked), so it may go.
      const firstSeq = log.nextSeq ?? 1;
      const bytes = Math.floor(random() * 2000);
      log.append(FrameType.EVENTS, firstSeq, 3, [payload(firstSeq, 3, bytes)]);
      written.push({ type: FrameType.EVENTS, firstSeq, count: 3, bytes });
    }
    io.crash({ seed: seed * 10 + round });
    stats.crashes++;
    const restored = openCollect(FDIR, options); // never throws: all of this is crash damage
    log = restored.log;
    const kept = prefixOf(restored.frames, written); // a gap-free prefix, payloads intact
    const where = `seed ${seed} round ${round}: kept ${kept} of ${committed}, ${syncedFrames} synced`;
    expect(kept, where).toBeGreaterThanOrEqual(syncedFrames); // nothing fsynced is lost
    if (mode === 'always') expect(kept, where).toBeGreaterThanOrEqual(committed); // nor anything committed
    if (mode === 'interval') {
      // Only the last window may go: frames older than one interval (plus one drain) were synced.
      for (let i = kept; i < committed; i++) expect(clock - at[i], where).toBeLessThanOrEqual(INTERVAL_MS + MAX_STEP_MS);
    }
    if (log.report.cut) stats.cuts++;
    if (log.report.cut?.verdict === 'unsynced') stats.unsyncedCuts++;
    stats.lostFrames += Math.max(0, committed - kept);
    written = written.slice(0, kept);
    syncedFrames = kept; // open fsyncs what it restored
    if (kept > 0) expect(log.nextSeq).toBe(written[kept - 1].firstSeq + written[kept - 1].count);
  }
  log.close();
  // A clean close after all that: everything is kept, even through another power loss.
  io.crash({ seed });
  const final = openCollect(FDIR, options);
  expect(prefixOf(final.frames, written)).toBe(written.length);
  final.log.close();
}

describe('power loss', () => {
  for (const mode of ['always', 'interval', 'never'] as const) {
    it(`[${mode}] keeps what the mode promises, across rolls and repeated crashes`, () => {
      const stats: Stats = { crashes: 0, lostFrames: 0, cuts: 0, unsyncedCuts: 0 };
      for (let seed = 1; seed <= 80; seed++) run(mode, seed, stats);
      // The simulation did damage: the modes that defer syncs lost frames, and restore had cuts to make.
      expect(stats.cuts).toBeGreaterThan(10); // torn in-flight drains at least
      if (mode === 'always') expect(stats.lostFrames).toBe(0);
      else expect(stats.lostFrames).toBeGreaterThan(50);
      if (mode === 'never') expect(stats.unsyncedCuts).toBeGreaterThan(0);
    });
  }

  it('a power cut at every single file operation (rolls, syncs, close, reopen) never makes restore refuse', () => {
    for (const mode of ['always', 'interval', 'never'] as const) {
      let total = 0;
      for (let n = 1; ; n++) {
        const io = new FaultIo();
        const dying = dieAt(io, n);
        const written: Written[] = [];
        let committed = 0;
        try {
          let log = SegmentLog.open(FDIR, { fsync: mode, io: dying, segmentBytes: 4096, intervalMs: 0 });
          for (let i = 0; i < 12; i++) {
            const control = i % 4 === 3;
            const firstSeq = log.nextSeq ?? 1;
            const w = { type: control ? FrameType.CLEAR : FrameType.EVENTS, firstSeq, count: control ? 0 : 2, bytes: 900 + i * 40 };
            written.push(w);
            log.append(w.type, w.firstSeq, w.count, [payload(w.firstSeq, w.count, w.bytes)]);
            log.commit();
            committed = written.length;
            if (i === 6) {
              log.close();
              log = SegmentLog.open(FDIR, { fsync: mode, io: dying, segmentBytes: 4096, intervalMs: 0 });
            }
          }
          log.close();
        } catch (err) {
          if (!(err instanceof PowerCut) && !((err as { cause?: unknown }).cause instanceof PowerCut)) throw err;
        }
        total = dying.calls();
        io.crash({ seed: n });
        const { log, frames } = openCollect(FDIR, { fsync: mode, io });
        const kept = prefixOf(frames, written);
        if (mode !== 'never') expect(kept, `${mode}, cut at call ${n}`).toBeGreaterThanOrEqual(committed);
        log.close();
        if (n > total) break;
      }
      expect(total).toBeGreaterThan(30);
    }
  });

  it('open fsyncs what it restored: after a process crash under `never`, reopening under `always` makes it all durable', () => {
    const io = new FaultIo();
    let { log } = openCollect(FDIR, { fsync: 'never', io });
    const written: Written[] = [];
    for (let i = 0; i < 5; i++) written.push(put(log, 2, 300));
    io.crash({ powerLoss: false }); // the page cache survives; nothing was fsynced
    ({ log } = openCollect(FDIR, { fsync: 'always', io }));
    written.push(put(log, 2, 300)); // a new segment (the mode changed), fsynced, recording all before it as durable
    io.crash({ unsynced: 'drop' });
    const r = openCollect(FDIR, { fsync: 'always', io });
    expect(prefixOf(r.frames, written)).toBe(6);
    r.log.close();
  });

  it('`always` loses nothing even when every unsynced byte is dropped; `never` may lose everything since open', () => {
    for (const mode of ['always', 'never'] as const) {
      const io = new FaultIo();
      const options = { fsync: mode, io, segmentBytes: 4096 };
      const log = SegmentLog.open(FDIR, options);
      const written: Written[] = [];
      for (let i = 0; i < 50; i++) written.push(put(log, 2, 200));
      io.crash({ unsynced: 'drop' });
      const { frames, log: again } = openCollect(FDIR, options);
      expect(prefixOf(frames, written)).toBe(mode === 'always' ? 50 : 0);
      again.close();
    }
  });
});
