import { RingstoreError, invalidArgument } from '../errors.js';
import { OPS, type WireQuery } from '../partition/partition-queries.js';
import { keySet, unknownKey } from '../known-keys.js';
import type { ResolvedOptions } from './options.js';
import type { Query, Where } from './types.js';

const QUERY_KEYS = keySet<Query<unknown>>({ from: 1, to: 1, keys: 1, fromVersion: 1, toVersion: 1, partitions: 1, where: 1, filter: 1, limit: 1 });
const WHERE_KEYS = keySet<Where>({ type: 1, values: 1 });

const isNum = (x: unknown): x is number => typeof x === 'number' && !Number.isNaN(x);

/** Validates a query and turns its data filters into what the workers run. */
export function toWireQuery<T>(q: Query<T> | undefined, o: ResolvedOptions<T>): WireQuery {
  if (q === undefined) return {};
  if (q === null || typeof q !== 'object') throw invalidArgument('query must be an object');
  // A misspelt key (`form`, `key`, `type`) would otherwise narrow nothing and answer over every event.
  const k = unknownKey(q, QUERY_KEYS);
  if (k !== undefined) throw invalidArgument(`query.${k} is not a query option (use ${[...QUERY_KEYS].join(', ')})`, { key: k });
  const wire: WireQuery = {};
  if (q.from !== undefined) {
    if (!isNum(q.from)) throw invalidArgument('query.from must be a number (ms)');
    wire.from = q.from;
  }
  if (q.to !== undefined) {
    if (!isNum(q.to)) throw invalidArgument('query.to must be a number (ms)');
    wire.to = q.to;
  }
  for (const f of ['fromVersion', 'toVersion'] as const) {
    const x = q[f];
    if (x === undefined) continue;
    if (!Number.isInteger(x)) throw invalidArgument(`query.${f} must be an integer`);
    wire[f] = x;
  }
  if (q.keys !== undefined) {
    if (!Array.isArray(q.keys)) throw invalidArgument('query.keys must be an array');
    wire.keys = q.keys.map((k) => {
      if (typeof k !== 'string' && typeof k !== 'number') throw invalidArgument('query.keys holds strings or numbers');
      return String(k);
    });
  }
  if (q.partitions !== undefined) {
    if (!Array.isArray(q.partitions) || q.partitions.some((p) => !Number.isInteger(p) || p < 0 || p >= o.partitions)) {
      throw invalidArgument(`query.partitions must hold integers in [0, ${o.partitions})`);
    }
  }
  if (q.limit !== undefined && (!Number.isInteger(q.limit) || q.limit < 0)) throw invalidArgument('query.limit must be a non-negative integer');
  if (q.filter !== undefined && typeof q.filter !== 'function') throw invalidArgument('query.filter must be a function');
  const where = q.where;
  if (where !== undefined) {
    if (where === null || typeof where !== 'object') throw invalidArgument('query.where must be an object');
    // An unknown key would otherwise filter nothing and answer over every event, silently.
    const w = unknownKey(where, WHERE_KEYS);
    if (w !== undefined) throw invalidArgument(`query.where.${w} is not a filter (use where.type, or where.values.<value> for a declared value)`, { key: w });
    if (where.type !== undefined) {
      const types = typeof where.type === 'string' ? [where.type] : where.type;
      if (!Array.isArray(types) || types.some((t) => typeof t !== 'string')) throw invalidArgument('query.where.type must be a string or strings');
      wire.types = [...types];
    }
    if (where.values !== undefined) {
      if (where.values === null || typeof where.values !== 'object') throw invalidArgument('query.where.values must be an object');
      wire.comparisons = [];
      for (const [name, cmp] of Object.entries(where.values)) {
        const v = o.valueNames.indexOf(name);
        if (v < 0) throw new RingstoreError('RS_ERR_UNKNOWN_VALUE', `"${name}" is not a declared value`, { value: name });
        if (cmp === null || typeof cmp !== 'object') throw invalidArgument(`query.where.values.${name} must be an object`);
        for (const [op, x] of Object.entries(cmp)) {
          if (!(op in OPS)) throw invalidArgument(`unknown comparison "${op}" (use ${Object.keys(OPS).join(', ')})`);
          if (!isNum(x)) throw invalidArgument(`query.where.values.${name}.${op} must be a number`);
          wire.comparisons.push([v, OPS[op as keyof typeof OPS], x]);
        }
      }
    }
  }
  return wire;
}
