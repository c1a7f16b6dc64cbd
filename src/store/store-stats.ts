import type { PartitionHandle } from '../partition/partition-handle.js';
import { Commit, Gauge, type PartitionMemory } from '../ring/layout.js';
import type { PartitionStats, StoreStats } from './types.js';

/** A store's statistics, read from its partitions' shared memory (no round trip to the workers). */
export function storeStats(mems: readonly PartitionMemory[], handles: readonly PartitionHandle[]): StoreStats {
  const partitions: PartitionStats[] = mems.map((m, i) => {
    const last = m.gauges[Gauge.LAST_APPEND_MS * 8];
    const discarded = m.committed(Commit.DISCARDED);
    const live = m.committed(Commit.LIVE);
    const purged = m.committed(Commit.PURGED);
    return {
      partition: i,
      appended: m.committed(Commit.APPENDED),
      committed: live + discarded + purged,
      discarded,
      rejected: m.committed(Commit.REJECTED),
      duplicates: m.committed(Commit.DUPLICATES),
      conflicts: m.committed(Commit.CONFLICTS),
      purged,
      live,
      capacity: m.geometry.capacity,
      refused: m.refused(),
      appendsPerSecond: m.gauges[Gauge.RATE * 8],
      lastAppendTime: last > 0 ? last : null,
      restarts: handles[i].restarts,
      failed: handles[i].failure !== undefined,
      calls: handles[i].calls,
      keys: m.committed(Commit.KEYS),
      dormantKeys: m.committed(Commit.DORMANT_KEYS),
      dedupIds: m.committed(Commit.DEDUP_IDS),
    };
  });
  const sum = (f: keyof PartitionStats): number => partitions.reduce((a, p) => a + (p[f] as number), 0);
  const lasts = partitions.map((p) => p.lastAppendTime ?? 0);
  return {
    appended: sum('appended'),
    committed: sum('committed'),
    discarded: sum('discarded'),
    rejected: sum('rejected'),
    duplicates: sum('duplicates'),
    conflicts: sum('conflicts'),
    purged: sum('purged'),
    live: sum('live'),
    capacity: sum('capacity'),
    refused: sum('refused'),
    appendsPerSecond: sum('appendsPerSecond'),
    lastAppendTime: Math.max(...lasts) || null,
    restarts: sum('restarts'),
    calls: sum('calls'),
    keys: sum('keys'),
    dormantKeys: sum('dormantKeys'),
    dedupIds: sum('dedupIds'),
    partitions,
  };
}
