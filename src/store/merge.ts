import { PACKED_STRIDE, type PackedEvents } from '../partition/snapshot-pack.js';
import type { StoredEvent } from './types.js';

/** Buffer's utf8Slice decodes a byte range straight to a string (what toString('utf8', a, b) calls, minus the argument checks). */
type SliceBuffer = Buffer & { utf8Slice(start: number, end: number): string };

/** One partition's packed result as the decoder reads it (shared by all of its events). */
interface Source {
  buf: SliceBuffer;
  lengths: Int32Array;
  numbers: Float64Array;
  names: string[];
}

/**
 * A stored event decoded from a packed query result. `id` and `values` are
 * decoded on first access (most readers of a big snapshot never touch
 * them), which saves a string and an object per event; `toJSON` includes
 * them, so the event serialises like a plain object. Few fields: the rest
 * is found again from the partition's packed result and the event's index.
 */
class DecodedEvent<T> implements StoredEvent<T> {
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

  constructor(key: string, type: string, partition: number, payload: T, src: Source, i: number, at: number) {
    const numbers = src.numbers;
    this.key = key;
    this.type = type;
    this.timestamp = numbers[at];
    this.partition = partition;
    this.position = numbers[at + 1];
    this.version = numbers[at + 2];
    this.payload = payload;
    this.#src = src;
    this.#i = i;
  }

  get id(): string {
    if (this.#id === undefined) {
      const w = this.#i * PACKED_STRIDE;
      const at = this.#src.lengths[w];
      this.#id = this.#src.buf.utf8Slice(at, at + this.#src.lengths[w + 1]);
    }
    return this.#id;
  }

  get values(): Record<string, number> {
    if (this.#values === undefined) {
      const values: Record<string, number> = {};
      const { names, numbers } = this.#src;
      const at = this.#i * (3 + names.length) + 3;
      for (let v = 0; v < names.length; v++) values[names[v]] = numbers[at + v];
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
 * Merges per-partition results (each sorted by timestamp, then position)
 * into the store's approximate global order: timestamp, then partition, then
 * position, decoding one event per `next()`, so a consumer that stops early
 * pays only for what it read. A plain object, not a generator: `snapshot()`
 * calls `next()` once per event, and a generator's resume costs more.
 */
export class PackedMerge<T> {
  private readonly parts: (PackedEvents & { partition?: number })[];
  private readonly sources: Source[];
  private readonly idx: number[];
  private readonly stride: number;

  constructor(parts: PackedEvents[], valueNames: string[]) {
    this.parts = parts;
    this.stride = 3 + valueNames.length;
    this.idx = parts.map(() => 0);
    this.sources = parts.map((p) => ({
      buf: Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength) as SliceBuffer,
      lengths: p.lengths, numbers: p.numbers, names: valueNames,
    }));
  }

  /** The next event in merged order, or undefined when all are read. */
  next(): StoredEvent<T> | undefined {
    const parts = this.parts;
    const idx = this.idx;
    const stride = this.stride;
    let best = -1;
    let bestTs = Infinity;
    for (let p = 0; p < parts.length; p++) {
      const i = idx[p];
      if (i >= parts[p].count) continue;
      const ts = parts[p].numbers[i * stride];
      if (best === -1 || ts < bestTs) {
        best = p;
        bestTs = ts;
      }
    }
    if (best === -1) return undefined;
    const part = parts[best];
    const src = this.sources[best];
    const i = idx[best]++;
    const lengths = src.lengths;
    const w = i * PACKED_STRIDE;
    const payAt = lengths[w + 4];
    const payload = JSON.parse(src.buf.utf8Slice(payAt, payAt + lengths[w + 5])) as T;
    return new DecodedEvent<T>(part.keys[lengths[w + 2]], part.types[lengths[w + 3]], part.partition ?? best, payload, src, i, i * stride);
  }

  /** Events not read yet. */
  get remaining(): number {
    let n = 0;
    for (let p = 0; p < this.parts.length; p++) n += this.parts[p].count - this.idx[p];
    return n;
  }
}
