/**
 * Prometheus exposition (`GET /metrics`): ingest counters, store gauges read
 * from shared memory at scrape time, request latency histograms, and the
 * process's default metrics (event-loop lag included). One registry per app,
 * so several daemons can live in one process (tests).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { threadMemory, type ThreadMemory } from '../partition/thread-memory.js';
import type { EventStore } from '../store/event-store.js';
import { DeferredCounter } from './deferred-counter.js';
import { RequestLatency } from './request-latency.js';

/** The daemon's Prometheus instruments. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Events accepted, by store (`streams`, `metrics`) and format (`json`, `array`, `ndjson`). */
  readonly ingested: DeferredCounter<'store' | 'format'>;
  /** Events not stored as new: duplicates and conflicts, by store and reason. */
  readonly rejected: DeferredCounter<'store' | 'reason'>;
  /** Request latency, by method, route pattern and status code. */
  readonly latency: RequestLatency;
  /** Open SSE subscriptions. */
  readonly subscriptions: Gauge;
  /** Reads of a stream by the SSE feeds (one per stream and commit, shared by its subscribers). */
  readonly sseReads: Counter;
  /** SSE subscribers paused because their socket was full (a slow client). */
  readonly slowSubscribers: Counter;
  /** Open versioned-stream sessions. */
  readonly sessions: Gauge;
  /** Connections and requests refused before routing, by reason (connection cap, timeout, malformed, oversized headers). */
  readonly refused: Counter<'reason'>;
  /** Makes `ringstore_http_open_connections` read the open connection count from `count` at scrape time. */
  countConnections(count: () => number): void;
}

/** Creates the registry and instruments; store gauges are read at scrape time. */
export function createMetrics(stores: Record<string, EventStore<unknown>>): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const ingested = new DeferredCounter(registry, 'ringstore_ingested_events_total', 'Events accepted by the daemon', ['store', 'format']);
  const rejected = new DeferredCounter(registry, 'ringstore_rejected_events_total', 'Appends not stored as new events (duplicate, conflict)', ['store', 'reason']);
  const latency = new RequestLatency('ringstore_http_request_duration_seconds', 'HTTP request latency', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
  registry.registerMetric(latency.asMetric());
  const subscriptions = new Gauge({ name: 'ringstore_sse_subscriptions', help: 'Open SSE subscriptions', registers: [registry] });
  const sseReads = new Counter({ name: 'ringstore_sse_reads_total', help: 'Stream reads by the SSE feeds (one per subscribed stream and commit, shared by its subscribers)', registers: [registry] });
  const slowSubscribers = new Counter({ name: 'ringstore_sse_slow_pauses_total', help: 'SSE subscribers paused until their socket drained (slow clients)', registers: [registry] });
  const sessions = new Gauge({ name: 'ringstore_versioned_sessions', help: 'Open versioned-stream sessions', registers: [registry] });
  const refused = new Counter({ name: 'ringstore_http_refused_total', help: 'Connections and requests refused before routing', labelNames: ['reason'] as const, registers: [registry] });
  let openConnections = (): number => 0;
  new Gauge({
    name: 'ringstore_http_open_connections', help: 'Open client connections (accepted, under --max-connections)', registers: [registry],
    collect() {
      this.set(openConnections());
    },
  });

  const perStore = (name: string, help: string, pick: (s: EventStore<unknown>) => number): void => {
    new Gauge({
      name, help, labelNames: ['store'] as const, registers: [registry],
      collect() {
        for (const [store, s] of Object.entries(stores)) this.set({ store }, pick(s));
      },
    });
  };
  perStore('ringstore_store_appended_events', 'Events that reached the partition workers', (s) => s.stats.appended);
  perStore('ringstore_store_live_events', 'Events currently held', (s) => s.stats.live);
  perStore('ringstore_store_discarded_events', 'Events evicted because a partition was full (oldest first)', (s) => s.stats.discarded);
  perStore('ringstore_store_purged_events', 'Events removed by purge or clear', (s) => s.stats.purged);
  perStore('ringstore_store_refused_appends', 'tryAppend calls refused because an input ring was full', (s) => s.stats.refused);
  perStore('ringstore_store_keys', 'Keys (stream names, metric labels) with live events', (s) => s.stats.keys);
  perStore('ringstore_store_worker_restarts', 'Partition worker restarts', (s) => s.stats.restarts);
  new Gauge({
    name: 'ringstore_partition_fill_ratio',
    help: 'Live events / capacity, per partition',
    labelNames: ['store', 'partition'] as const,
    registers: [registry],
    collect() {
      for (const [store, s] of Object.entries(stores)) {
        for (const p of s.stats.partitions) this.set({ store, partition: String(p.partition) }, p.capacity === 0 ? 0 : p.live / p.capacity);
      }
    },
  });
  threadMemoryGauges(registry, stores);
  return {
    registry, ingested, rejected, latency, subscriptions, sseReads, slowSubscribers, sessions, refused,
    countConnections(count) {
      openConnections = count;
    },
  };
}

/**
 * `ringstore_thread_memory_bytes{thread, kind}`: heap used and reserved,
 * external and ArrayBuffer memory of the main thread (`thread="main"`) and of
 * each partition worker (`thread="streams-p0"`...), asked at scrape time. The
 * `nodejs_heap_*` metrics cover the main isolate only: a worker's heap was
 * visible as RSS alone.
 */
function threadMemoryGauges(registry: Registry, stores: Record<string, EventStore<unknown>>): void {
  const kinds: (keyof ThreadMemory)[] = ['heapUsed', 'heapTotal', 'external', 'arrayBuffers'];
  new Gauge({
    name: 'ringstore_thread_memory_bytes',
    help: 'Memory of each thread\'s isolate: heap used and reserved, external, ArrayBuffers (main thread and partition workers)',
    labelNames: ['thread', 'kind'] as const,
    registers: [registry],
    async collect() {
      this.reset(); // a worker that does not answer is absent, not stale
      const set = (thread: string, m: ThreadMemory): void => {
        for (const kind of kinds) this.set({ thread, kind }, m[kind]);
      };
      set('main', threadMemory());
      const perStore = await Promise.all(Object.entries(stores).map(async ([store, s]) => [store, await s.workerMemory().catch(() => [])] as const));
      for (const [store, parts] of perStore) {
        parts.forEach((m, p) => {
          if (m !== null) set(`${store}-p${p}`, m);
        });
      }
    },
  });
}
