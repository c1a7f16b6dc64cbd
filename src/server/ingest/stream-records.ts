/**
 * From posted `/streams` events to the records the ring store keeps, on
 * whichever thread parsed them (the route, or an ingest thread): timestamps
 * normalised to ISO 8601 UTC under the daemon's time rule, the receive time,
 * and the idempotency ids (the event's `id`, or `Idempotency-Key` with `:i`
 * per batch event). Throws a 400 naming the first bad event; writes nothing.
 */
import { isoTime, nextEventId } from '../../ids/event-id.js';
import { badRequest } from '../errors.js';
import type { StreamRecord } from '../stores.js';
import { eventTime } from '../time.js';

/** The records of one append, and its ids when any event (or the request) carries one. */
export interface StreamBatch {
  records: StreamRecord[];
  /** One id per record (generated where the event had none), or undefined when no event had one. */
  ids: string[] | undefined;
}

/**
 * Builds the records of `events` posted to `stream` at receive time `now`.
 * `batch` says the body was an array (or NDJSON): error messages then name the
 * index, and an `Idempotency-Key` gets `:i` per event. The parsed events are
 * the caller's: their `timestamp` is normalised in place.
 */
export function streamRecords(stream: string, events: unknown[], batch: boolean, key: string | undefined, now: number): StreamBatch {
  const nowIso = isoTime(now);
  const records: StreamRecord[] = new Array(events.length);
  let ids: string[] | undefined;
  for (let i = 0; i < events.length; i++) {
    const d = events[i] as Record<string, unknown>;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) throw badRequest(batch ? `[${i}] must be a JSON object` : 'the body must be a JSON object or an array of them');
    const ts = d.timestamp;
    d.timestamp = ts === undefined || ts === null ? nowIso : isoTime(eventTime(batch ? `[${i}].timestamp` : 'timestamp', ts, now));
    records[i] = { s: stream, t: now, d };
    const id = key !== undefined ? (batch ? `${key}:${i}` : key) : typeof d.id === 'string' ? d.id : undefined;
    if (id !== undefined) {
      ids ??= [];
      ids[i] = id;
    }
  }
  if (ids !== undefined) for (let i = 0; i < events.length; i++) ids[i] ??= nextEventId(now);
  return { records, ids };
}
