/**
 * From posted `/metrics` events to the records the ring store keeps, on
 * whichever thread parsed them (the route, or an ingest thread). Throws a 400
 * naming the first bad event; writes nothing.
 */
import { badRequest } from '../errors.js';
import type { MetricRecord } from '../stores.js';
import { eventTime } from '../time.js';

/** A posted metric event, as the route schema admits it. */
export interface MetricEventBody {
  label: string;
  value: number;
  timestamp?: string | number | null;
}

/** The records of `events` received at `now`; `batch`: the body was an array (messages name the index). */
export function metricRecords(events: MetricEventBody[], batch: boolean, now: number): MetricRecord[] {
  const records: MetricRecord[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (!Number.isFinite(e.value)) throw badRequest(`[${i}].value must be a finite number`);
    records[i] = { label: e.label, value: e.value, ts: eventTime(batch ? `[${i}].timestamp` : 'timestamp', e.timestamp, now) };
  }
  return records;
}
