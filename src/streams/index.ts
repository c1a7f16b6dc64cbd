/**
 * `ringstore/streams`: versioned event streams (event sourcing) on a pluggable
 * key-value backend (memory, LMDB, NATS JetStream), with leased sessions, atomic appends, idempotency and
 * snapshots. See `docs/streams.md`.
 * @packageDocumentation
 */
export { StreamStoreProvider, type StreamStoreProviderOptions, type OpenOptions, type StreamDefaults } from './provider.js';
export { MAX_SESSION_TIMEOUT_MS } from './lease.js';
export { StreamSession, type AppendOptions, type ReadOptions, type ReadResult } from './session.js';
export type { Snapshot, SnapshotReducer } from './snapshots.js';
export type { StreamEvent, NewEvent, EventMetadata } from './envelope.js';
export { newEventId } from './envelope.js';
export type { JsonValue } from './json.js';
export { parseStreamId, formatStoreId, DEFAULT_DATABASE, type StreamId, type StreamIdInput } from './stream-id.js';
export { systemClock, ManualClock, type Clock } from './clock.js';
export type { LiveSink, LiveStreamEvent } from './live.js';
export type {
  KeyValueBackend,
  KvEntry,
  KvListed,
  KvAddOptions,
  KvSetOptions,
  KvRemoveOptions,
  KvListOptions,
  KvBatchOp,
  KvBatchResult,
  KvCapabilities,
} from './backend.js';
export { MemoryBackend, type MemoryBackendOptions, type MemoryBackendStats } from './backends/memory.js';
export { LmdbBackend, type LmdbBackendOptions } from './backends/lmdb.js';
export { NatsBackend, type NatsBackendOptions } from './backends/nats.js';
export {
  StreamErrorCodes,
  type StreamErrorCode,
  InvalidStreamArgumentError,
  InvalidStreamOptionError,
  ProviderClosedError,
  StoreNotOpenError,
  StoreSessionExpiredError,
  InvalidStoreSessionError,
  OpenStoreFailedError,
  StoreVersionMismatchError,
  StreamVersionNotFoundError,
  StreamSnapshotVersionNotFoundError,
  StreamIdempotencyIdNotFoundError,
  DuplicateIdempotencyIdError,
  StoreBackendError,
  KvDuplicateKeyError,
  KvKeyNotFoundError,
  KvConcurrencyError,
} from './errors.js';
