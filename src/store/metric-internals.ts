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
}

/** Filled by the `MetricStore` constructor. */
export const metricInternals = new WeakMap<object, MetricInternals>();
