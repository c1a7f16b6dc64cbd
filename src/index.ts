/**
 * ringstore: a multi-core in-memory event store for Node.js.
 * @packageDocumentation
 */
export * from './errors.js';
export { EventStore, type CrashOptions } from './store/event-store.js';
export { EventStoreBuilder } from './store/builder.js';
export { StoreReader } from './store/store-reader.js';
export type { CapacityInfo, DurabilityOptions, EventStoreOptions, Selector, WindowOptions } from './store/options.js';
export type { EventStoreDescriptor, AttachSelectors, AttachedProducer } from './store/descriptor.js';
export type { Producer } from './store/producer.js';
export type * from './store/types.js';
export { hashKey, partitionOf } from './partition/hash.js';
export * from './store/metric-store.js';
export { DurableMetricStore, type MetricRestoreSummary } from './store/durable-metric-store.js';
