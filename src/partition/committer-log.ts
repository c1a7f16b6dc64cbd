/**
 * The committer's side of a durable log (partition-log.ts), besides the
 * frame each commit writes first (the Journal): refusing records the log
 * cannot take, replaying the log's frames at open, and committing again a
 * drain the log holds but the memory does not.
 */
import { RingstoreError } from '../errors.js';
import { DRAIN_MAX_RECORDS } from '../ring/layout.js';
import { Rec, RecFlag, RecKind } from '../ring/record.js';
import { commitPoint } from './commit-point.js';
import type { Committer } from './committer.js';
import { clear, purge } from './committer-purge.js';

/**
 * Consumes up to `max` published records without committing them: every
 * append among them is refused with `status` (the durable log cannot take
 * them: disk full, I/O error). Counted as rejected. Returns how many.
 */
export function refuse(c: Committer, max: number, status: number): number {
  const m = c.mem;
  const inI32 = m.inI32;
  const input = c.input;
  const start = input.head;
  let head = start;
  let n = 0;
  while (n < max && ((head - start) >>> 0) < input.capacity) {
    const len = input.lengthAt(head);
    if (len === 0) break;
    const w = (head & c.mask) >> 2;
    const kindFlags = inI32[w + Rec.KIND];
    if ((kindFlags & 0xff) === RecKind.EVENT) {
      const producer = inI32[w + Rec.PRODUCER];
      if (kindFlags & RecFlag.ACK && c.acks.room(producer) < 1) break;
      c.appended++;
      c.rejected++;
      if (kindFlags & RecFlag.ACK) c.acks.write(producer, inI32[w + Rec.TICKET], status, 0, 0);
    }
    head = (head + len) | 0;
    n++;
  }
  if (n > 0) commitPoint(c, head);
  return n;
}

/**
 * Replays one drain of a durable log: its input bytes go back into the
 * (empty) input ring at their cursors, and are drained again with the
 * drain's commit time and id prefix, so positions, versions and ids come
 * out as they did. Throws if they do not (the log does not match the state).
 */
export function replayDrain(c: Committer, serial: number, batchMs: number, idPrefix: number, start: number, end: number, tailBefore: number, tailAfter: number, bytes: Uint8Array): void {
  const m = c.mem;
  const input = c.input;
  if (tailBefore !== c.tailPos || ((end - start) >>> 0) !== bytes.length || bytes.length > input.capacity) {
    throw new RingstoreError('RS_ERR_LOG_CORRUPT', `a drain of the log does not follow the state (serial ${serial}: tail ${tailBefore}, state ${c.tailPos})`, { serial });
  }
  input.reset(start);
  const a = start & c.mask;
  const first = Math.min(bytes.length, input.capacity - a);
  m.inU8.set(bytes.subarray(0, first), a);
  if (first < bytes.length) m.inU8.set(bytes.subarray(first), 0);
  c.replaying = true;
  c.batchMs = batchMs;
  c.ids.setPrefix(idPrefix);
  c.serial = serial - 1;
  try {
    while (((input.head - start) >>> 0) < bytes.length) {
      if (c.drain(DRAIN_MAX_RECORDS) === 0) break;
    }
  } finally {
    c.replaying = false;
  }
  if (input.head !== end || c.tailPos !== tailAfter) {
    throw new RingstoreError('RS_ERR_LOG_CORRUPT', `replaying drain ${serial} gave positions up to ${c.tailPos - 1}, the log says ${tailAfter - 1}`, { serial });
  }
}

/**
 * Commits again, in place, a drain the log holds but the memory does not
 * (the worker died between the two): its records are still in the input
 * ring from `start` to `end`.
 */
export function redrain(c: Committer, serial: number, batchMs: number, idPrefix: number, start: number, end: number, tailBefore: number, tailAfter: number): void {
  if (c.input.head !== start || tailBefore !== c.tailPos) {
    throw new RingstoreError('RS_ERR_LOG_CORRUPT', `the last drain of the log (serial ${serial}) does not follow the partition's memory`, { serial });
  }
  c.replaying = true;
  c.batchMs = batchMs;
  c.ids.setPrefix(idPrefix);
  c.serial = serial - 1;
  try {
    c.drainTo = end;
    c.drain(DRAIN_MAX_RECORDS);
  } finally {
    c.replaying = false;
    c.drainTo = null;
  }
  if (c.input.head !== end || c.tailPos !== tailAfter) {
    throw new RingstoreError('RS_ERR_LOG_CORRUPT', `committing again drain ${serial} gave positions up to ${c.tailPos - 1}, the log says ${tailAfter - 1}`, { serial });
  }
}

/** Replays a purge or a clear of a durable log. */
export function replayPurge(c: Committer, serial: number, cutoff: number | null): void {
  c.replaying = true;
  c.serial = serial - 1;
  try {
    if (cutoff === null) clear(c);
    else purge(c, cutoff);
  } finally {
    c.replaying = false;
  }
}
