/**
 * What crosses between the main thread and an ingest thread: a task (the raw
 * body, transferred, and what the main thread already read from the request)
 * and an answer. Errors cross as `{ code, message, details }` (an Error loses
 * its class and code between threads) and are rebuilt with `errorFromWire`.
 */
import type { WireError } from '../../errors.js';
import type { EventStoreDescriptor } from '../../store/descriptor.js';

/** A bulk `POST /streams/{stream}` body. */
export interface StreamTask {
  kind: 'streams';
  /** The body's bytes (transferred when the buffer owned its memory). */
  bytes: Uint8Array;
  ndjson: boolean;
  stream: string;
  /** From `Expected-Version` or `?expectedVersion`, already checked. */
  expectedVersion: number | undefined;
  /** `Idempotency-Key`, already checked. */
  key: string | undefined;
  /** Receive time (ms), taken on the main thread. */
  now: number;
}

/** A bulk `POST /metrics` body. */
export interface MetricTask {
  kind: 'metrics';
  bytes: Uint8Array;
  ndjson: boolean;
  now: number;
}

export type IngestTask = StreamTask | MetricTask;

/** An ingest thread's answer to a task. */
export type IngestAnswer =
  /** Appended: `json` is the `/streams` answer body (undefined for `/metrics`), `duplicates` of `count` were retries. */
  | { kind: 'stored'; json: string | undefined; count: number; duplicates: number }
  /** Not certainly valid: nothing was written; the bytes come back for the main thread to parse and answer. */
  | { kind: 'fallback'; bytes: Uint8Array }
  /** The store refused the append (conflict, too large, closed, disk full...); `internal`: an unexpected error's text, for the log. */
  | { kind: 'failed'; error: WireError; count: number; internal?: string };

/** What every ingest thread starts with. */
export interface IngestThreadData {
  streams: EventStoreDescriptor;
  metrics: EventStoreDescriptor;
  /** `--max-batch`. */
  maxBatch: number;
}
