/** What every route module receives: configuration, stores, metrics, lifecycle state. */
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import type { IngestPool } from './ingest/ingest-pool.js';
import type { ServerMetrics } from './metrics.js';
import type { Stores } from './stores.js';
import type { StreamFeeds } from './stream-feed.js';

/** Shared state of one daemon instance. */
export interface ServerContext {
  readonly config: ServerConfig;
  readonly stores: Stores;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** The ingest threads that take bulk bodies (`--ingest-threads`); undefined: the main thread does. */
  readonly ingest?: IngestPool;
  /** The SSE subscriptions' shared followers of the `/streams` partitions. */
  readonly feeds: StreamFeeds;
  /** Long-lived responses (SSE) to end when the server closes. */
  readonly longLived: Set<() => void>;
  /** True once shutdown started: new requests get 503 `RS_ERR_CLOSED`. */
  closing: boolean;
}
