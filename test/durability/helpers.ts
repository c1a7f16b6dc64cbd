import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import {
  FaultIo, FrameType, SegmentLog, type FsyncMode, type Io, type ReplayFrame, type SegmentLogOptions,
} from '../../dist/src/durability/index.js';

/** A fresh real directory, removed after the test. */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
export function tmpDir(prefix = 'rs-wal-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** The directory tests use inside a FaultIo. */
export const FDIR = '/data/p0';

/** A deterministic payload for a frame: its sequence and count, then filler, `bytes` long. */
export function payload(firstSeq: number, count: number, bytes: number): Uint8Array {
  const out = new Uint8Array(Math.max(bytes, 0));
  for (let i = 0; i < out.length; i++) out[i] = (firstSeq * 31 + count * 7 + i * 13) & 0xff;
  return out;
}

/** What a frame written by a test was. */
export interface Written {
  type: number;
  firstSeq: number;
  count: number;
  bytes: number;
}

/** Appends and commits one frame (payload from {@link payload}, split in two parts); returns what was written. */
export function put(log: SegmentLog, count: number, bytes: number, type: number = FrameType.EVENTS): Written {
  const firstSeq = log.nextSeq ?? 1;
  const p = payload(firstSeq, count, bytes);
  const cut = p.length >> 1;
  log.append(type, firstSeq, count, [p.subarray(0, cut), p.subarray(cut)]);
  log.commit();
  return { type, firstSeq, count, bytes };
}

/** Opens a log, collecting the replayed frames (payloads copied). */
export function openCollect(dir: string, options: SegmentLogOptions): { log: SegmentLog; frames: (ReplayFrame & { payload: Uint8Array })[] } {
  const frames: (ReplayFrame & { payload: Uint8Array })[] = [];
  const log = SegmentLog.open(dir, options, (f) => frames.push({ ...f, payload: f.payload.slice() }));
  return { log, frames };
}

/** Checks that `frames` are exactly `written[0..frames.length)`, payloads included; returns the count. */
export function prefixOf(frames: readonly ReplayFrame[], written: readonly Written[]): number {
  if (frames.length > written.length) throw new Error(`${frames.length} frames replayed, only ${written.length} written`);
  frames.forEach((f, i) => {
    const w = written[i];
    if (f.firstSeq !== w.firstSeq || f.count !== w.count || f.type !== w.type) {
      throw new Error(`frame ${i}: got ${f.type}@${f.firstSeq}+${f.count}, wrote ${w.type}@${w.firstSeq}+${w.count}`);
    }
    const want = payload(w.firstSeq, w.count, w.bytes);
    if (Buffer.compare(Buffer.from(f.payload), Buffer.from(want)) !== 0) throw new Error(`frame ${i}: payload differs`);
  });
  return frames.length;
}

/** A FaultIo log in {@link FDIR}. */
export function faultLog(io: FaultIo, fsync: FsyncMode, extra: Partial<SegmentLogOptions> = {}) {
  return openCollect(FDIR, { fsync, io, ...extra });
}

/** An Io that records every writev's parts (to check payloads go out without copies). */
export function spyIo(inner: Io): Io & { writes: Uint8Array[][] } {
  const writes: Uint8Array[][] = [];
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'writes') return writes;
      if (key === 'writev') return (fd: number, parts: readonly Uint8Array[]) => (writes.push([...parts]), target.writev(fd, parts));
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Io & { writes: Uint8Array[][] };
}

/** Thrown by {@link dieAt}: the simulated process died there. */
export class PowerCut extends Error {}

/**
 * An Io over `inner` whose `n`th state-changing call (open for writing, writev, fdatasync, ftruncate,
 * rename, unlink, fsyncDir) throws {@link PowerCut} instead of running: follow with `inner.crash()`
 * to test every step of a protocol. `calls()` says how many such calls were made.
 */
export function dieAt(inner: Io, n: number): Io & { calls(): number } {
  let count = 0;
  const mutating = new Set(['writev', 'fdatasync', 'ftruncate', 'rename', 'unlink', 'fsyncDir']);
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'calls') return () => count;
      const v = Reflect.get(target, key) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (mutating.has(String(key)) || (key === 'open' && args[1] !== 'r')) {
          if (++count === n) throw new PowerCut(`power cut at call ${n} (${String(key)})`);
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Io & { calls(): number };
}
