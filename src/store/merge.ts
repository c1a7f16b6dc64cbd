import type { PackedEvents } from '../partition/partition-queries.js';
import type { StoredEvent } from './types.js';

/** Buffer's utf8Slice decodes a byte range straight to a string (what toString('utf8', a, b) calls, minus the argument checks). */
type SliceBuffer = Buffer & { utf8Slice(start: number, end: number): string };

/**
 * A stored event decoded from a packed query result. `id` and `values` are
 * decoded on first access (most readers of a big snapshot never touch
 * them), which saves a string and an object per event; `toJSON` includes
 * them, so the event serialises like a plain object.
 */
class DecodedEvent<T> implements StoredEvent<T> {
  key: string;
  type: string;
  timestamp: number;
  partition: number;
  position: number;
  version: number;
  payload: T;
  #buf: SliceBuffer;
  #idAt: number;
  #idLen: number;
  #numbers: Float64Array;
  #at: number;
  #names: string[];
  #id: string | undefined;
  #values: Record<string, number> | undefined;

  constructor(
    key: string, type: string, partition: number, payload: T,
    buf: SliceBuffer, idAt: number, idLen: number, numbers: Float64Array, at: number, names: string[],
  ) {
    this.key = key;
    this.type = type;
    this.timestamp = numbers[at];
    this.partition = partition;
    this.position = numbers[at + 1];
    this.version = numbers[at + 2];
    this.payload = payload;
    this.#buf = buf;
    this.#idAt = idAt;
    this.#idLen = idLen;
    this.#numbers = numbers;
    this.#at = at;
    this.#names = names;
  }

  get id(): string {
    return (this.#id ??= this.#buf.utf8Slice(this.#idAt, this.#idAt + this.#idLen));
  }

  get values(): Record<string, number> {
    if (this.#values === undefined) {
      const values: Record<string, number> = {};
      const names = this.#names;
      for (let v = 0; v < names.length; v++) values[names[v]] = this.#numbers[this.#at + 3 + v];
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
 * position. Decodes one event at a time, so a consumer that stops early pays
 * only for what it read.
 */
export function* mergePacked<T>(parts: PackedEvents[], valueNames: string[], limit = Infinity): Generator<StoredEvent<T>> {
  const stride = 3 + valueNames.length;
  const k = parts.length;
  const idx = new Array<number>(k).fill(0);
  const byteAt = new Array<number>(k).fill(0);
  const bufs = parts.map((p) => Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength) as SliceBuffer);
  let emitted = 0;
  while (emitted < limit) {
    let best = -1;
    let bestTs = Infinity;
    for (let p = 0; p < k; p++) {
      const i = idx[p];
      if (i >= parts[p].count) continue;
      const ts = parts[p].numbers[i * stride];
      if (best === -1 || ts < bestTs) {
        best = p;
        bestTs = ts;
      }
    }
    if (best === -1) return;
    const part = parts[best];
    const i = idx[best]++;
    const lengths = part.lengths;
    const idLen = lengths[i * 4];
    const payloadLen = lengths[i * 4 + 3];
    const b = bufs[best];
    const idAt = byteAt[best];
    const payAt = idAt + idLen;
    byteAt[best] = payAt + payloadLen;
    const payload = JSON.parse(b.utf8Slice(payAt, payAt + payloadLen)) as T;
    emitted++;
    yield new DecodedEvent<T>(
      part.keys[lengths[i * 4 + 1]], part.types[lengths[i * 4 + 2]], (part as PackedEvents & { partition: number }).partition,
      payload, b, idAt, idLen, part.numbers, i * stride, valueNames,
    );
  }
}
