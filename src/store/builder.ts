import type { EventStore } from './event-store.js';
import type { CapacityInfo, EventStoreOptions, Selector, WindowOptions } from './options.js';
import type { StoredEvent } from './types.js';

/**
 * Fluent construction of an {@link EventStore}; every option has a `with*`
 * method. Validation happens in `create()`, exactly as for `EventStore.create`.
 * `V` collects the names given to {@link withValue}: the store's queries accept those.
 */
export class EventStoreBuilder<T, V extends string = never> {
  private readonly options: EventStoreOptions<T> = {};
  private readonly factory: (o: EventStoreOptions<T>) => EventStore<T>;

  /** @internal use `EventStore.builder()` */
  constructor(factory: (o: EventStoreOptions<T>) => EventStore<T>) {
    this.factory = factory;
  }

  withCapacity(capacity: number): this {
    this.options.capacity = capacity;
    return this;
  }

  withPartitions(partitions: number): this {
    this.options.partitions = partitions;
    return this;
  }

  withPayloadBytes(bytes: number): this {
    this.options.payloadBytes = bytes;
    return this;
  }

  withKey(key: Selector<T, string | number>): this {
    this.options.key = key;
    return this;
  }

  withTimestamp(timestamp: Selector<T, number>): this {
    this.options.timestamp = timestamp;
    return this;
  }

  withType(type: Selector<T, string>): this {
    this.options.type = type;
    return this;
  }

  /** Declares a named numeric value column; queries of the store accept `name`. */
  withValue<N extends string>(name: N, selector: Selector<T, number>): EventStoreBuilder<T, V | N> {
    this.options.values = { ...this.options.values, [name]: selector };
    return this;
  }

  withWindow(window: WindowOptions): this {
    this.options.window = window;
    return this;
  }

  withDedupWindow(ids: number): this {
    this.options.dedupWindow = ids;
    return this;
  }

  withDormantKeys(keys: number): this {
    this.options.dormantKeys = keys;
    return this;
  }

  withMaxEventBytes(bytes: number): this {
    this.options.maxEventBytes = bytes;
    return this;
  }

  withInputBytes(bytes: number): this {
    this.options.inputBytes = bytes;
    return this;
  }

  withMaxProducers(producers: number): this {
    this.options.maxProducers = producers;
    return this;
  }

  withLogger(logger: NonNullable<EventStoreOptions<T>['logger']>): this {
    this.options.logger = logger;
    return this;
  }

  withName(name: string): this {
    this.options.name = name;
    return this;
  }

  onDiscarded(callback: (events: StoredEvent<T>[]) => void): this {
    this.options.onDiscarded = callback;
    return this;
  }

  onDiscardedLost(callback: (lost: { partition: number; positions: number[] }) => void): this {
    this.options.onDiscardedLost = callback;
    return this;
  }

  onCapacityReached(callback: (info: CapacityInfo) => void): this {
    this.options.onCapacityReached = callback;
    return this;
  }

  /** Validates the options and creates the store. */
  create(): EventStore<T, V> {
    return this.factory({ ...this.options });
  }
}
