/** Wire types of the daemon's routes, as the client returns them. */

/** What an append returns per event: the store's own result type, as the daemon sends it. */
export type { AppendResult } from '../store/types.js';

/** An event read from a ring-store stream: the posted body plus the server's id, version and timestamp. */
export interface StreamItem {
  id: string;
  version: number;
  /** ISO 8601 UTC: the posted timestamp, or the receive time. */
  timestamp: string;
  [field: string]: unknown;
}

/** One page of a stream. */
export interface StreamPage {
  events: StreamItem[];
  /** `from` of the next page, when this page was full. */
  nextFrom: number | undefined;
}

/** `GET /streams/{stream}?aggregate=true` with the default `sum=valor&groupBy=gatewayId`. */
export interface StreamAggregate {
  stream: string;
  totalEvents: number;
  /** `total<Sum>`, e.g. `totalValor`; groups under `gateways` (groupBy=gatewayId) or `groups`. */
  [field: string]: unknown;
  durationMs: number;
}

/** `{ count, sum, min, max, avg }` (min and max 0 when empty, as the reference). */
export interface Aggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
  avg: number;
}

/** A metric event (the reference's MetricEvent). */
export interface MetricEvent {
  label: string;
  value: number;
  /** Epoch ms, ISO 8601 string or Date; default the receive time. */
  timestamp?: number | string | Date;
}

/** A time bound: epoch ms, ISO 8601 string or Date. */
export type TimeInput = number | string | Date;

/** `{ from, to }` bounds of a metrics query. */
export interface TimeRange {
  from?: TimeInput;
  to?: TimeInput;
}

/** A versioned stream event as stored. */
export interface VersionedEvent<TData = unknown> {
  id: string;
  type: string;
  data: TData;
  metadata: { correlationId: string; causationId?: string; userId?: string; createdAt: string; [k: string]: unknown };
  version: number;
}

/** A versioned stream event to append. */
export interface NewVersionedEvent<TData = unknown> {
  id?: string;
  type: string;
  data: TData;
  metadata?: Record<string, unknown>;
  expectedVersion?: number;
}

/** A versioned stream snapshot. */
export interface VersionedSnapshot<TState = unknown> {
  version: number;
  state: TState;
  createdAt: string;
}
