/**
 * The memory of each `MetricStore` (its columns and key table), for the
 * durable store's checkpoints and restore (metric-journal.ts) only. A
 * WeakMap keeps them off the public class.
 * @module
 */
import type { MetricKeyTable } from './metric-keys.js';
import type { MetricColumns } from './metric-layout.js';

export interface MetricInternals {
  cols: MetricColumns;
  table: MetricKeyTable;
  /**
   * `add` and `keyId` without the key-length check, for a journal's
   * operations (metric-ops.ts `applyOps`): they were checked when queued, and
   * a journal written before keys were limited to 1,024 characters may hold
   * longer ones, which its replay must take, not call corrupt.
   */
  addJournaled(key: string, value: number, ts: number): void;
  keyIdJournaled(key: string): number;
}

/** Filled by the `MetricStore` constructor. */
export const metricInternals = new WeakMap<object, MetricInternals>();
