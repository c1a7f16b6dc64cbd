/**
 * The ingest threads' stand-in for the route body schemas (routes/streams.ts,
 * routes/metrics.ts): true only for events those schemas certainly accept.
 * Stricter where that is cheaper (lengths in UTF-16 units bound the schemas'
 * code points; numbers must be finite); a false sends the body back to the
 * main thread, whose validator gives the exact 400.
 */
import type { MetricEventBody } from './metric-records.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isTime = (v: unknown): boolean => v === undefined || v === null || typeof v === 'number' || (typeof v === 'string' && v.length <= 64);

/** Every event fits the `/streams` event schema (a batch of at least one). */
export function streamEventsFit(events: readonly unknown[]): boolean {
  if (events.length === 0) return false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (!isObject(e)) return false;
    const { id, valor, gatewayId, timestamp } = e;
    if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 256)) return false;
    if (valor !== undefined && !(typeof valor === 'number' && Number.isFinite(valor))) return false;
    if (gatewayId !== undefined && typeof gatewayId !== 'string') return false;
    if (!isTime(timestamp)) return false;
  }
  return true;
}

/** Every event fits the `/metrics` event schema (a batch of at least one). */
export function metricEventsFit(events: readonly unknown[]): events is MetricEventBody[] {
  if (events.length === 0) return false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (!isObject(e)) return false;
    const { label, value, timestamp } = e;
    if (typeof label !== 'string' || label.length === 0 || label.length > 1024) return false;
    if (!(typeof value === 'number' && Number.isFinite(value))) return false;
    if (!isTime(timestamp)) return false;
    for (const k in e) if (k !== 'label' && k !== 'value' && k !== 'timestamp') return false;
  }
  return true;
}
