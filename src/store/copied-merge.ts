import { CopyInt, CopyNum, type CopiedEvents } from '../partition/snapshot-copy.js';
import type { StoredEvent } from './types.js';

/** Buffer's utf8Slice decodes a byte range straight to a string (what toString('utf8', a, b) calls, minus the argument checks). */
type SliceBuffer = Buffer & { utf8Slice(start: number, end: number): string };

/** One partition's copied columns as the decoder reads them (shared by all of its events), each a view indexed by slot. */
interface Source {
  buf: SliceBuffer;
  nums: Float64Array;
  span: number;
  base: number;
  names: string[];
  ts: Float64Array;
  pos: Float64Array;
  ver: Float64Array;
  abs: Float64Array;
  idLen: Int32Array;
  keyLen: Int32Array;
  typeLen: Int32Array;
  payloadLen: Int32Array;
  keyId: Int32Array;
  typeId: Int32Array;
}

function source(p: CopiedEvents, names: string[]): Source {
  const { nums, ints, span } = p;
  const n = (k: number): Float64Array => nums.subarray(k * span, (k + 1) * span);
  const i = (k: number): Int32Array => ints.subarray(k * span, (k + 1) * span);
  return {
    buf: Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength) as SliceBuffer, nums, span, base: p.base, names,
    ts: n(CopyNum.TS), pos: n(CopyNum.POS), ver: n(CopyNum.VER), abs: n(CopyNum.ABS),
    idLen: i(CopyInt.ID_LEN), keyLen: i(CopyInt.KEY_LEN), typeLen: i(CopyInt.TYPE_LEN), payloadLen: i(CopyInt.PAYLOAD_LEN),
    keyId: i(CopyInt.KEY_ID), typeId: i(CopyInt.TYPE_ID),
  };
}

/**
 * A stored event decoded from copied slot columns (snapshot-copy.ts): the
 * same fields, laziness and `toJSON` as merge.ts's DecodedEvent, so a
 * snapshot reads the same whichever way its partitions sent it. `id` and
 * `values` are decoded on first access from the partition's copy and the
 * event's slot index in it.
 */
class CopiedEvent<T> implements StoredEvent<T> {
  key: string;
  type: string;
  timestamp: number;
  partition: number;
  position: number;
  version: number;
  payload: T;
  #src: Source;
  #i: number;
  #id: string | undefined;
  #values: Record<string, number> | undefined;

  constructor(key: string, type: string, timestamp: number, partition: number, position: number, version: number, payload: T, src: Source, i: number) {
    this.key = key;
    this.type = type;
    this.timestamp = timestamp;
    this.partition = partition;
    this.position = position;
    this.version = version;
    this.payload = payload;
    this.#src = src;
    this.#i = i;
  }

  get id(): string {
    if (this.#id === undefined) {
      const src = this.#src;
      const at = src.abs[this.#i] - src.base;
      this.#id = src.buf.utf8Slice(at, at + src.idLen[this.#i]);
    }
    return this.#id;
  }

  get values(): Record<string, number> {
    if (this.#values === undefined) {
      const values: Record<string, number> = {};
      const { names, nums, span } = this.#src;
      for (let v = 0; v < names.length; v++) values[names[v]] = nums[(CopyNum.VALUES + v) * span + this.#i];
      this.#values = values;
    }
    return this.#values;
  }

  toJSON(): StoredEvent<T> {
    return {
      id: this.id, key: this.key, type: this.type, timestamp: this.timestamp, partition: this.partition,
      position: this.position, version: this.version, values: this.values, payload: this.payload,
    };
  }
}

/**
 * Merges copied partitions like merge.ts's PackedMerge merges packed ones:
 * by timestamp, then partition (list order), then position, one event
 * decoded per `next()`.
 */
export class CopiedMerge<T> {
  private readonly parts: (CopiedEvents & { partition?: number })[];
  private readonly sources: Source[];
  private readonly idx: number[];

  constructor(parts: CopiedEvents[], valueNames: string[]) {
    this.parts = parts;
    this.idx = parts.map(() => 0);
    this.sources = parts.map((p) => source(p, valueNames));
  }

  /** The next event in merged order, or undefined when all are read. */
  next(): StoredEvent<T> | undefined {
    const parts = this.parts;
    const sources = this.sources;
    const idx = this.idx;
    let best = -1;
    let bestTs = Infinity;
    for (let p = 0; p < parts.length; p++) {
      const j = idx[p];
      const part = parts[p];
      if (j >= part.count) continue;
      const ts = sources[p].ts[part.order[j]];
      if (best === -1 || ts < bestTs) {
        best = p;
        bestTs = ts;
      }
    }
    if (best === -1) return undefined;
    const part = parts[best];
    const src = sources[best];
    const i = part.order[idx[best]++];
    const payAt = src.abs[i] - src.base + src.idLen[i] + src.keyLen[i] + src.typeLen[i];
    const payload = JSON.parse(src.buf.utf8Slice(payAt, payAt + src.payloadLen[i])) as T;
    return new CopiedEvent<T>(part.keyNames[src.keyId[i]], part.typeNames[src.typeId[i]], bestTs, part.partition ?? best, src.pos[i], src.ver[i], payload, src, i);
  }

  /** Events not read yet. */
  get remaining(): number {
    let n = 0;
    for (let p = 0; p < this.parts.length; p++) n += this.parts[p].count - this.idx[p];
    return n;
  }
}
