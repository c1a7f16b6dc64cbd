import { ClosedError, RingstoreError, invalidArgument } from '../errors.js';
import { PartitionMemory } from '../ring/layout.js';
import { PartitionReader } from '../ring/reader.js';
import { checkDescriptor, type EventStoreDescriptor } from './descriptor.js';
import { refuseOtherRangeKeys } from './metric-types.js';
import type { StoredEvent } from './types.js';

const unregister = new FinalizationRegistry<PartitionReader[]>((readers) => {
  for (const r of readers) r.close();
});

/**
 * Reads a store's committed events straight from shared memory, in any
 * thread, without a round trip to the partition workers and without ever
 * making them wait (see {@link PartitionReader}). Get one with
 * `EventStore.reader(store.descriptor())` in another thread, or
 * `store.reader()` on the coordinator. Events are merged like `snapshot()`:
 * by timestamp, then partition, then position.
 */
export class StoreReader<T = unknown> {
  private readonly readers: PartitionReader[];
  private readonly valueNames: string[];
  private closed = false;

  constructor(descriptor: EventStoreDescriptor) {
    checkDescriptor(descriptor, 'reader()');
    this.readers = descriptor.partitions.map((sab) => new PartitionReader(new PartitionMemory(sab, descriptor.geometry)));
    this.valueNames = descriptor.valueNames;
    unregister.register(this, this.readers, this);
  }

  /**
   * Unregisters from the partitions: their workers stop writing slot
   * checksums once no reader is left. A reader that is dropped without
   * close() is unregistered when it is garbage-collected.
   */
  close(): void {
    this.closed = true;
    unregister.unregister(this);
    for (const r of this.readers) r.close();
  }

  /** Live events with timestamp in [from, to] (inclusive), merged across partitions. */
  snapshot(range: { from?: number; to?: number } = {}): StoredEvent<T>[] {
    if (this.closed) throw new ClosedError('the reader is closed');
    if (range === null || typeof range !== 'object') throw invalidArgument('range must be an object');
    refuseOtherRangeKeys(range);
    const from = range.from ?? -Infinity;
    const to = range.to ?? Infinity;
    if (typeof from !== 'number' || typeof to !== 'number' || Number.isNaN(from) || Number.isNaN(to)) throw invalidArgument('from and to must be numbers');
    const out: StoredEvent<T>[] = [];
    this.readers.forEach((r, partition) => {
      const events = r.read(from, to);
      if (events === null) throw new RingstoreError('RS_ERR_WORKER', `partition ${partition} did not turn on slot checksums in time (is its worker alive?)`, { partition });
      for (const e of events) {
        const values: Record<string, number> = {};
        this.valueNames.forEach((n, i) => (values[n] = e.values[i]));
        out.push({
          id: e.id, key: e.key, type: e.type, timestamp: e.timestamp, partition, position: e.position,
          version: e.version, values, payload: JSON.parse(e.json) as T,
        });
      }
    });
    return out.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.position - b.position);
  }
}
