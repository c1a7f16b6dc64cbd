/**
 * The `/streams` ring store's function selectors. Functions cannot travel in a
 * store descriptor, so the daemon's stores (stores.ts) and the ingest threads
 * that attach to them (workers/ingest.ts) take them from here: one
 * definition, the same encoding on every thread.
 */
import type { StreamRecord } from '../stores.js';

/** The declared value `valor`: the body's `valor` when it is a finite number, else 0. */
export const streamValor = (r: StreamRecord): number => {
  const v = r.d.valor;
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
};

/** The event type: the body's `type` when it is a string. */
export const streamType = (r: StreamRecord): string => (typeof r.d.type === 'string' ? r.d.type : '');
