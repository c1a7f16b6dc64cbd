// Shared by the durable MetricStore model tests (durable-metric.model.test.ts, durable-metric-kill.model.test.ts):
// everything a reader can ask, as one comparable value, and the bytes of one sample's frame (the unit of the
// log's bound).
import { MetricStore } from '../../dist/src/index.js';
import { scratch, segmentBytes } from './durable.helpers.js';

export const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
export const SEGMENT = 4096;

export type Reader = Pick<MetricStore, 'stats' | 'count' | 'sum' | 'min' | 'max' | 'top' | 'keys' | 'keyOf'>;

/** Everything a reader can ask, as one comparable value. */
export function answers(s: Reader): unknown {
  const ranges = [undefined, { from: 0, to: 30 }, { from: 50, to: 100 }];
  return {
    stats: s.stats,
    keys: s.keys(),
    top: s.top(4),
    topRange: s.top(3, { from: 20, to: 70 }),
    ids: Array.from({ length: 12 }, (_, id) => s.keyOf(id) ?? null),
    perKey: [undefined, ...KEYS].map((k) => ranges.map((r) => [
      k === undefined ? s.count(r) : s.count(k, r),
      k === undefined ? s.sum(r) : s.sum(k, r),
      k === undefined ? s.min(r) : s.min(k, r),
      k === undefined ? s.max(r) : s.max(k, r),
    ])),
  };
}

/** Bytes of a one-sample frame with the longest key and widest numbers: the unit of the log bound. */
export async function unitFrameBytes(partitions: number, capacity: number): Promise<number> {
  const dir = scratch('rs-dmm-unit-');
  const s = await MetricStore.open({ capacity, partitions, durability: { dir, fsync: 'never', segmentBytes: SEGMENT, checkpointIntervalMs: 3_600_000 } });
  await s.add('a', 1, 1);
  const one = segmentBytes(dir);
  await s.add(KEYS[KEYS.length - 1], -1000.5, 100);
  const two = segmentBytes(dir);
  await s.close();
  return two - one;
}

