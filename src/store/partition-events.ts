import { reportRejection } from './callback-result.js';
import type { EvictedEvent } from '../partition/committer.js';
import type { PartitionEvent } from '../partition/partition-worker.js';
import type { ResolvedOptions } from './options.js';
import type { StoredEvent } from './types.js';

/**
 * Hands what a partition worker reports (evicted events, evictions whose
 * bytes were lost, a partition that became full) to the store's callbacks;
 * a callback that throws is logged, not thrown into the worker's message.
 */
export function deliverPartitionEvent<T>(o: ResolvedOptions<T>, partition: number, e: PartitionEvent): void {
  const report = (err: unknown): void => {
    o.logger?.error({ err, partition }, `${e.type === 'full' ? 'onCapacityReached' : e.type === 'evicted-lost' ? 'onDiscardedLost' : 'onDiscarded'} callback threw`);
  };
  try {
    let r: unknown;
    if (e.type === 'evicted' && o.onDiscarded) r = o.onDiscarded(e.events.map((x) => fromEvicted(o, partition, x)));
    else if (e.type === 'evicted-lost') r = o.onDiscardedLost?.({ partition, positions: e.positions });
    else if (e.type === 'full' && o.onCapacityReached) r = o.onCapacityReached({ partition, capacity: o.capacityPerPartition, reason: e.reason });
    reportRejection(r, report);
  } catch (err) {
    report(err);
  }
}

function fromEvicted<T>(o: ResolvedOptions<T>, partition: number, x: EvictedEvent): StoredEvent<T> {
  const values: Record<string, number> = {};
  o.valueNames.forEach((n, i) => (values[n] = x.values[i]));
  return {
    id: x.id, key: x.key, type: x.type, timestamp: x.timestamp, partition, position: x.position,
    version: x.version, values, payload: JSON.parse(x.json) as T,
  };
}
