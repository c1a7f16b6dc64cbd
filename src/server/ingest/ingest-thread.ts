/**
 * One ingest thread's work: attached to both ring stores by descriptor, it
 * reads a bulk body, checks it as the route would, builds the records and
 * appends them straight into the partitions' input rings. Anything it is not
 * sure of goes back to the main thread untouched (a `fallback`), so every
 * 4xx is still the route's own answer.
 */
import { RingstoreError } from '../../errors.js';
import { EventStore } from '../../store/event-store.js';
import type { AppendResult } from '../../store/types.js';
import type { MetricRecord, StreamRecord } from '../stores.js';
import { isoTime } from '../../ids/event-id.js';
import { ENCODED_JSON, type EncodedAppendOptions, type Producer } from '../../store/producer.js';
import { readBulkBody } from './bulk-body.js';
import { streamRecordJsons, type EventSource } from './event-json.js';
import { metricRecords } from './metric-records.js';
import { appendResultsJson } from './results-json.js';
import { metricEventsFit, streamEventsFit } from './schema-fit.js';
import { streamValor, streamType } from './selectors.js';
import { streamRecords, type StreamBatch } from './stream-records.js';
import type { IngestAnswer, IngestThreadData, MetricTask, StreamTask, IngestTask } from './wire.js';

export class IngestThread {
  readonly #streams: Producer<StreamRecord>;
  readonly #metrics: Producer<MetricRecord>;
  readonly #maxBatch: number;

  constructor(data: IngestThreadData) {
    this.#streams = EventStore.attach<StreamRecord>(data.streams, { type: streamType, values: { valor: streamValor } });
    try {
      this.#metrics = EventStore.attach<MetricRecord>(data.metrics);
    } catch (err) {
      void this.#streams.close();
      throw err;
    }
    this.#maxBatch = data.maxBatch;
  }

  /** Runs one task; never throws (errors come back as `failed`). */
  async run(task: IngestTask): Promise<IngestAnswer> {
    const source: { text?: EventSource } = {};
    const events = readBulkBody(task.bytes, task.ndjson, task.kind === 'streams' ? source : undefined);
    if (events === undefined || events.length > this.#maxBatch) return { kind: 'fallback', bytes: task.bytes };
    return task.kind === 'streams' ? this.#appendStreams(task, events, source.text) : this.#appendMetrics(task, events);
  }

  async #appendStreams(task: StreamTask, events: unknown[], source: EventSource | undefined): Promise<IngestAnswer> {
    if (!streamEventsFit(events)) return { kind: 'fallback', bytes: task.bytes };
    let batch: StreamBatch;
    try {
      batch = streamRecords(task.stream, events, true, task.key, task.now);
    } catch {
      return { kind: 'fallback', bytes: task.bytes };
    }
    const opts: EncodedAppendOptions = { ...(task.expectedVersion !== undefined ? { expectedVersion: task.expectedVersion } : {}), ...(batch.ids !== undefined ? { id: batch.ids } : {}) };
    // Each event's own JSON text where it is what JSON.stringify would write (as the route does).
    const jsons = source === undefined ? undefined : streamRecordJsons(batch.records, source, isoTime(task.now));
    if (jsons !== undefined) opts[ENCODED_JSON] = jsons;
    let results: AppendResult[];
    try {
      results = await this.#streams.append(batch.records, opts);
    } catch (err) {
      return failed(err, events.length);
    }
    let duplicates = 0;
    for (const r of results) if (r.duplicate) duplicates++;
    return { kind: 'stored', json: appendResultsJson(results), count: results.length, duplicates };
  }

  async #appendMetrics(task: MetricTask, events: unknown[]): Promise<IngestAnswer> {
    if (!metricEventsFit(events)) return { kind: 'fallback', bytes: task.bytes };
    let records: MetricRecord[];
    try {
      records = metricRecords(events, true, task.now);
    } catch {
      return { kind: 'fallback', bytes: task.bytes };
    }
    try {
      // As the route: no ack wait; a full input ring falls back to an append that waits for space.
      const waits: Promise<unknown>[] = [];
      for (const r of records) if (!this.#metrics.tryAppend(r)) waits.push(this.#metrics.append(r));
      if (waits.length > 0) await Promise.all(waits);
    } catch (err) {
      return failed(err, records.length);
    }
    return { kind: 'stored', json: undefined, count: records.length, duplicates: 0 };
  }

  /** Frees the producer slots once every accepted append settled. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#streams.close(), this.#metrics.close()]);
  }
}

/** A store's refusal as it crosses threads; anything else is a bug: a 500 whose message stays in the log. */
function failed(err: unknown, count: number): IngestAnswer {
  if (err instanceof RingstoreError) return { kind: 'failed', error: err.toWire(), count };
  return { kind: 'failed', error: { code: 'RS_ERR_INTERNAL', message: 'internal error' }, count, internal: err instanceof Error ? err.stack ?? err.message : String(err) };
}
