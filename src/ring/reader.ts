import { Cnt, Ctl, PartitionMemory, SlotFlag } from './layout.js';

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

/**
 * Reads a partition's committed events from any thread, without asking the
 * worker and without ever blocking it. Each slot is read under its seqlock:
 * the seq is loaded (odd = being written: skip), the columns and arena bytes
 * are copied, and the seq is loaded again; a change means the slot was
 * evicted or overwritten while it was copied, and the copy is dropped. The
 * worker bumps a slot's seq before its arena bytes can be reused, so a
 * returned event is never torn, unpublished or half-overwritten. Events
 * evicted during the read are simply missing from the result.
 */
export class PartitionReader {
  private readonly mem: PartitionMemory;

  constructor(mem: PartitionMemory) {
    this.mem = mem;
  }

  /** Live events with timestamp in [from, to], in position order. */
  read(from = -Infinity, to = Infinity): RawEvent[] {
    const m = this.mem;
    const C = m.geometry.capacity;
    const A = m.geometry.arenaBytes;
    const V = m.geometry.valueCount;
    Atomics.load(m.i32, PartitionMemory.ctl(Ctl.COMMIT_FENCE));
    const head = m.counters[Cnt.HEAD_POS * 8];
    const tail = m.counters[Cnt.TAIL_POS * 8];
    const out: RawEvent[] = [];
    for (let p = Math.max(1, head, tail - C); p < tail; p++) {
      const s = (p - 1) % C;
      const s1 = Atomics.load(m.seq, s);
      if (s1 & 1) continue;
      if (m.pos[s] !== p || !(m.flags[s] & SlotFlag.LIVE)) continue;
      const ts = m.ts[s];
      if (ts < from || ts > to) continue;
      const version = m.ver[s];
      const idLen = m.idLen[s];
      const keyLen = m.keyLen[s];
      const typeLen = m.typeLen[s];
      const payloadLen = m.payloadLen[s];
      const at = m.arenaAbs[s] % A;
      const len = idLen + keyLen + typeLen + payloadLen;
      if (len < 0 || len > A || at + len > A) continue; // torn lengths: the seq check below would drop it anyway
      const bytes = m.arena.slice(at, at + len);
      const values: number[] = [];
      for (let v = 0; v < V; v++) values.push(m.values[v * C + s]);
      if (Atomics.load(m.seq, s) !== s1) continue;
      out.push({
        position: p,
        timestamp: ts,
        version,
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
