import type { PackedEvents } from '../partition/partition-queries.js';
import { decodeBytes } from '../ring/utf8.js';
import type { StoredEvent } from './types.js';

/**
 * Merges per-partition results (each sorted by timestamp, then position)
 * into the store's approximate global order: timestamp, then partition, then
 * position. Decodes lazily, one event at a time, so a consumer that stops
 * early pays only for what it read.
 */
export function* mergePacked<T>(parts: PackedEvents[], valueNames: string[], limit = Infinity): Generator<StoredEvent<T>> {
  const V = valueNames.length;
  const stride = 3 + V;
  const k = parts.length;
  const idx = new Array<number>(k).fill(0);
  const byteAt = new Array<number>(k).fill(0);
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
    const o = i * stride;
    const idLen = part.lengths[i * 4];
    const keyLen = part.lengths[i * 4 + 1];
    const typeLen = part.lengths[i * 4 + 2];
    const payloadLen = part.lengths[i * 4 + 3];
    let at = byteAt[best];
    const b = part.bytes;
    const id = decodeBytes(b.subarray(at, (at += idLen)));
    const key = decodeBytes(b.subarray(at, (at += keyLen)));
    const type = decodeBytes(b.subarray(at, (at += typeLen)));
    const payload = JSON.parse(decodeBytes(b.subarray(at, (at += payloadLen)))) as T;
    byteAt[best] = at;
    const values: Record<string, number> = {};
    for (let v = 0; v < V; v++) values[valueNames[v]] = part.numbers[o + 3 + v];
    emitted++;
    yield {
      id,
      key,
      type,
      timestamp: part.numbers[o],
      partition: (part as PackedEvents & { partition: number }).partition,
      position: part.numbers[o + 1],
      version: part.numbers[o + 2],
      values,
      payload,
    };
  }
}
