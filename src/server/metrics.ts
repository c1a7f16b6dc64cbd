/**
 * Prometheus exposition (`GET /metrics`): ingest counters, store gauges read
 * from shared memory at scrape time, request latency histograms, and the
 * process's default metrics (event-loop lag included). One registry per app,
 * so several daemons can live in one process (tests).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventStore } from '../store/event-store.js';

/** The daemon's Prometheus instruments. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Events accepted, by store (`streams`, `metrics`) and format (`json`, `array`, `ndjson`). */
  readonly ingested: Counter<'store' | 'format'>;
  /** Events not stored as new: duplicates and conflicts, by store and reason. */
  readonly rejected: Counter<'store' | 'reason'>;
  /** Request latency, by method, route pattern and status code. */
  readonly latency: Histogram<'method' | 'route' | 'status_code'>;
  /** Open SSE subscriptions. */
  readonly subscriptions: Gauge;
  /** Open versioned-stream sessions. */
  readonly sessions: Gauge;
}

/** Creates the registry and instruments; store gauges are read at scrape time. */
export function createMetrics(stores: Record<string, EventStore<unknown>>): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const ingested = new Counter({ name: 'ringstore_ingested_events_total', help: 'Events accepted by the daemon', labelNames: ['store', 'format'] as const, registers: [registry] });
  const rejected = new Counter({ name: 'ringstore_rejected_events_total', help: 'Appends not stored as new events (duplicate, conflict)', labelNames: ['store', 'reason'] as const, registers: [registry] });
  const latency = new Histogram({
    name: 'ringstore_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const subscriptions = new Gauge({ name: 'ringstore_sse_subscriptions', help: 'Open SSE subscriptions', registers: [registry] });
  const sessions = new Gauge({ name: 'ringstore_versioned_sessions', help: 'Open versioned-stream sessions', registers: [registry] });

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
  return { registry, ingested, rejected, latency, subscriptions, sessions };
}
