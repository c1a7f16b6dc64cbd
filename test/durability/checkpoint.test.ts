// Checkpoints: durable write (temp, fdatasync, rename, directory fsync), newest valid read back,
// fallback to the previous when the newest is damaged, the last two kept.
import { describe, expect, it } from 'vitest';
import { CheckpointStore, FaultIo, LogCorruptError } from '../../dist/src/durability/index.js';
import { FDIR, PowerCut, dieAt, tmpDir } from './helpers.js';

const blob = (n: number, fill: number) => new Uint8Array(n).fill(fill);

function names(io: FaultIo): string[] {
  return io.readdir(FDIR).sort();
}

describe('checkpoints', () => {
  it('round-trips a blob given as parts, on the real file system, and keeps the last two', () => {
    const dir = tmpDir();
    let store = CheckpointStore.open(dir);
    expect(store.latest).toBeNull();
    expect(store.deletableThrough).toBeNull();
    const r = store.write(100, [blob(3, 1), blob(0, 0), blob(5, 2)]);
    expect(r).toMatchObject({ generation: 1, bytes: 48 + 8 });
    store.write(200, [blob(4 * 1024 * 1024, 3)]);
    store.write(300, [blob(10, 4)]);
    store = CheckpointStore.open(dir);
    expect(store.latest).toMatchObject({ coveredThroughSeq: 300, generation: 3 });
    expect([...store.latest!.data]).toEqual([...blob(10, 4)]);
    expect(store.deletableThrough).toBe(200); // the older kept one: a fallback to it needs frames after 200
    expect(store.skipped).toEqual([]);
  });

  it('falls back to the previous checkpoint when the newest is damaged, saying why', () => {
    for (const damage of ['flip', 'truncate', 'empty'] as const) {
      const io = new FaultIo();
      const store = CheckpointStore.open(FDIR, { io });
      store.write(10, [blob(1000, 1)]);
      const newest = store.write(20, [blob(1000, 2)]).file;
      const bytes = io.fileBytes(newest).slice();
      if (damage === 'flip') bytes[500] ^= 4;
      io.setFileBytes(newest, damage === 'flip' ? bytes : bytes.subarray(0, damage === 'truncate' ? 700 : 0));
      const again = CheckpointStore.open(FDIR, { io });
      expect(again.latest, damage).toMatchObject({ coveredThroughSeq: 10 });
      expect(again.latest!.data).toEqual(blob(1000, 1));
      expect(again.skipped).toEqual([{ file: newest, reason: expect.any(String) }]);
      expect(again.deletableThrough).toBe(10);
      // The next write goes after the damaged one and keeps the good one.
      again.write(30, [blob(5, 3)]);
      expect(CheckpointStore.open(FDIR, { io }).latest).toMatchObject({ coveredThroughSeq: 30, generation: 3 });
    }
  });

  it('refuses when every checkpoint is damaged, rather than start without the state they held', () => {
    const io = new FaultIo();
    const store = CheckpointStore.open(FDIR, { io });
    for (const s of [1, 2]) {
      const f = store.write(s, [blob(100, s)]).file;
      const b = io.fileBytes(f).slice();
      b[60] ^= 1;
      io.setFileBytes(f, b);
    }
    expect(() => CheckpointStore.open(FDIR, { io })).toThrow(LogCorruptError);
    expect(() => CheckpointStore.open(FDIR, { io })).toThrow(/no valid checkpoint/);
  });

  it('power loss at every step of a write leaves the old checkpoint or the new one, never neither', () => {
    let steps = 0;
    for (let n = 1; ; n++) {
      for (const seed of [1, 2, 3]) {
        const io = new FaultIo();
        CheckpointStore.open(FDIR, { io }).write(5, [blob(700, 5)]);
        const dying = dieAt(io, n);
        let wrote = false;
        try {
          CheckpointStore.open(FDIR, { io: dying }).write(9, [blob(2000, 9)]);
          wrote = true;
        } catch (err) {
          if (!(err instanceof PowerCut) && !(err as { cause?: unknown }).cause) throw err;
        }
        steps = dying.calls();
        io.crash({ seed });
        const store = CheckpointStore.open(FDIR, { io });
        expect([5, 9]).toContain(store.latest!.coveredThroughSeq);
        expect(store.latest!.data).toEqual(store.latest!.coveredThroughSeq === 9 ? blob(2000, 9) : blob(700, 5));
        if (wrote) expect(store.latest!.coveredThroughSeq).toBe(9); // a write that returned is durable
        expect(names(io).filter((x) => x.endsWith('.tmp'))).toEqual([]);
      }
      if (n > steps) break; // the write ran to the end without meeting the cut
    }
    expect(steps).toBeGreaterThanOrEqual(5); // open, write, fdatasync, rename, directory fsync
  });

  it('validates: no going back, sequences and parts checked, leftover temp files removed', () => {
    const io = new FaultIo();
    const store = CheckpointStore.open(FDIR, { io });
    store.write(50, []);
    expect(() => store.write(49, [])).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => store.write(-1, [])).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => store.write(2 ** 53, [])).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => store.write(60, ['x' as unknown as Uint8Array])).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => CheckpointStore.open(FDIR, { io, keep: 0 })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    store.write(50, [blob(1, 1)]); // the same sequence again is fine
    io.open(`${FDIR}/00000000000000000009.ckpt.tmp`, 'w');
    expect(CheckpointStore.open(FDIR, { io }).latest).toMatchObject({ coveredThroughSeq: 50, generation: 2 });
    expect(names(io)).toEqual(['00000000000000000001.ckpt', '00000000000000000002.ckpt']);
  });
});
