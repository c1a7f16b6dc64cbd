import { Commit, Ctl, PartitionMemory, SlotFlag } from './layout.js';
import { checksum } from './slot-checksum.js';

/** A committed event read straight from shared memory. */
export interface RawEvent {
  position: number;
  timestamp: number;
  version: number;
  values: number[];
  id: string;
  key: string;
  type: string;
  json: string;
}

const decoder = new TextDecoder();
const C_READERS = PartitionMemory.ctl(Ctl.READERS);
const C_SUMMED = PartitionMemory.ctl(Ctl.SUMMED);
const C_DOORBELL = PartitionMemory.ctl(Ctl.DOORBELL);
/** How long a read waits for the worker to turn slot checksums on. */
const SUMMED_WAIT_MS = 2000;

/**
 * Reads a partition's committed events from any thread, without asking the
 * worker and without ever blocking it. Each slot is read under its seqlock
 * and checked against its checksum (slot-checksum.ts): the seq is loaded
 * (odd = being written: skip), the columns and arena bytes are copied, the
 * copy's checksum is compared with the slot's, and the seq is loaded again;
 * any difference means the slot was evicted, overwritten or not yet visible
 * whole while it was copied, and the copy is dropped. A returned event is
 * never torn, unpublished or half-overwritten; events evicted during the
 * read are simply missing from the result.
 *
 * A reader registers with the partition (Ctl.READERS) so its worker writes
 * checksums; call {@link close} when done (a dropped reader is unregistered
 * when it is garbage-collected).
 */
export class PartitionReader {
  private readonly mem: PartitionMemory;
  private registered = true;

  constructor(mem: PartitionMemory) {
    this.mem = mem;
    Atomics.add(mem.i32, C_READERS, 1);
    Atomics.add(mem.i32, C_DOORBELL, 1);
    Atomics.notify(mem.i32, C_DOORBELL);
  }

  /** Unregisters (the worker stops writing checksums once no reader is left). */
  close(): void {
    if (!this.registered) return;
    this.registered = false;
    Atomics.sub(this.mem.i32, C_READERS, 1);
  }

  /** Waits (blocking, bounded) until the worker writes checksums. */
  private awaitSums(): boolean {
    const i32 = this.mem.i32;
    if (Atomics.load(i32, C_SUMMED) === 1) return true;
    Atomics.add(i32, C_DOORBELL, 1);
    Atomics.notify(i32, C_DOORBELL);
    const until = Date.now() + SUMMED_WAIT_MS;
    while (Atomics.load(i32, C_SUMMED) !== 1) {
      const left = until - Date.now();
      if (left <= 0) return false;
      Atomics.wait(i32, C_SUMMED, 0, Math.min(left, 50));
    }
    return true;
  }

  /** Live events with timestamp in [from, to], in position order. Null when the worker did not answer. */
  read(from = -Infinity, to = Infinity): RawEvent[] | null {
    if (!this.registered) throw new RangeError('the reader is closed');
    if (!this.awaitSums()) return null;
    const m = this.mem;
    const C = m.geometry.capacity;
    const A = m.geometry.arenaBytes;
    const V = m.geometry.valueCount;
    const head = m.committed(Commit.HEAD_POS);
    const tail = m.committed(Commit.TAIL_POS);
    const nums = new Float64Array(4 + V);
    const lens = new Int32Array(4);
    const out: RawEvent[] = [];
    for (let p = Math.max(1, head, tail - C); p < tail; p++) {
      const s = (p - 1) % C;
      const s1 = Atomics.load(m.seq, s);
      if (s1 & 1) continue;
      if (m.pos[s] !== p || !(m.flags[s] & SlotFlag.LIVE)) continue;
      nums[0] = p;
      const ts = (nums[1] = m.ts[s]);
      if (ts < from || ts > to) continue;
      nums[2] = m.ver[s];
      const abs = (nums[3] = m.arenaAbs[s]);
      for (let v = 0; v < V; v++) nums[4 + v] = m.values[v * C + s];
      const idLen = (lens[0] = m.idLen[s]);
      const keyLen = (lens[1] = m.keyLen[s]);
      const typeLen = (lens[2] = m.typeLen[s]);
      lens[3] = m.payloadLen[s];
      const at = abs % A;
      const len = idLen + keyLen + typeLen + lens[3];
      if (!(len >= 0 && len <= A && at + len <= A)) continue; // torn lengths
      const bytes = m.arena.slice(at, at + len);
      const sum = Atomics.load(m.sum, s);
      if (Atomics.load(m.seq, s) !== s1) continue;
      const words = new Int32Array(bytes.buffer, 0, len >> 2);
      if (checksum(nums, 4 + V, lens, words, 0, bytes, 0, len) !== sum) continue;
      const values: number[] = [];
      for (let v = 0; v < V; v++) values.push(nums[4 + v]);
      out.push({
        position: p,
        timestamp: ts,
        version: nums[2],
        values,
        id: decoder.decode(bytes.subarray(0, idLen)),
        key: decoder.decode(bytes.subarray(idLen, idLen + keyLen)),
        type: decoder.decode(bytes.subarray(idLen + keyLen, idLen + keyLen + typeLen)),
        json: decoder.decode(bytes.subarray(idLen + keyLen + typeLen)),
      });
    }
    return out;
  }
}
