/**
 * The reference's `/metrics` routes on a ring store keyed by label: `POST
 * /metrics` (202, also JSON-array and NDJSON batches), `/metrics/sum`,
 * `/metrics/sum-window`, `/metrics/window`, `/metrics/top` (restored),
 * `/metrics/snapshot-views`, `/metrics/aggregate-zero-alloc`,
 * `/metrics/process-events`. Times are epoch ms or ISO 8601 (UTC).
 */
import type { FastifyInstance } from 'fastify';
import type { Query } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { metricRecords, type MetricEventBody } from '../ingest/metric-records.js';
import { pooledAppend } from '../ingest/pooled-append.js';
import { takePooledBody } from '../ingest/pooled-body.js';
import { isoOrNull, queryTime } from '../time.js';
import type { MetricRecord } from '../stores.js';
import { aggregate, bearer, errors, time, timeQuery } from './schemas.js';

const metricEvent = {
  type: 'object',
  properties: {
    label: { type: 'string', minLength: 1, maxLength: 1024 },
    value: { type: 'number' },
    timestamp: { anyOf: [time, { type: 'null' }] },
  },
  required: ['label', 'value'],
  // A misspelt `timestmap` would be dropped and the receive time stored instead: refused (400) like any unknown field.
  additionalProperties: false,
} as const;

const range = {
  from: timeQuery,
  to: timeQuery,
} as const;

/** Registers the `/metrics/*` routes (not `GET /metrics`, which is Prometheus). */
export function metricRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const store = ctx.stores.metrics;
  const { maxBatch } = ctx.config;
  const ingest = ctx.ingest;

  const rangeOf = (q: { from?: string; to?: string }): { from?: number; to?: number } => {
    const from = queryTime('from', q.from);
    const to = queryTime('to', q.to);
    return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
  };

  app.post('/metrics', {
    // Validation errors reach the handler, which raises them after a set-aside bulk body's own (pooled-body.ts).
    attachValidation: true,
    schema: {
      summary: 'Append a metric event { label, value, timestamp? } (or a JSON array / NDJSON of them); 202, empty body',
      tags: ['metrics'],
      security: bearer,
      body: { ...metricEvent, type: ['object', 'array'], items: metricEvent, minItems: 1 },
      response: { 202: { type: 'null', description: 'empty' }, ...errors },
    },
  }, async (request, reply) => {
    const pooled = ingest === undefined ? undefined : takePooledBody(request);
    // A bulk body an ingest thread appends; undefined: it is back on the request for the path below.
    if (pooled !== undefined && await pooledAppend(ctx, ingest!, request, pooled, () => ({ kind: 'metrics', bytes: pooled.bytes, ndjson: pooled.ndjson, now: Date.now() })) !== undefined) {
      reply.code(202).send();
      return;
    }
    if (request.validationError !== undefined) throw request.validationError;
    const body = request.body as MetricEventBody | MetricEventBody[];
    const events = Array.isArray(body) ? body : [body];
    if (events.length > maxBatch) throw new HttpError('RS_ERR_BODY_TOO_LARGE', `a batch holds at most ${maxBatch} events (--max-batch), got ${events.length}`);
    const records = metricRecords(events, Array.isArray(body), Date.now());
    // Fast path: no ack wait; a full input ring falls back to an append that waits for space.
    const waits: Promise<unknown>[] = [];
    // --nats: one JetStream message for the batch, applied by every daemon (src/server/replication).
    if (ctx.stores.replication) waits.push(ctx.stores.replication.appendMetrics(records));
    else for (const r of records) if (!store.tryAppend(r)) waits.push(store.append(r));
    if (waits.length > 0) await Promise.all(waits);
    const format = (request as unknown as { ndjson?: boolean }).ndjson ? 'ndjson' : Array.isArray(body) ? 'array' : 'json';
    ctx.metrics.ingested.add('metrics', format, records.length);
    reply.code(202).send();
  });

  app.get('/metrics/sum', {
    schema: {
      summary: 'Sum of value for one label within [from, to]: a bare JSON number',
      tags: ['metrics'],
      querystring: { type: 'object', properties: { label: { type: 'string', minLength: 1, maxLength: 1024 }, ...range }, required: ['label'], additionalProperties: false },
      response: { 200: { type: 'number' }, ...errors },
    },
  }, async (request) => {
    const q = request.query as { label: string; from?: string; to?: string };
    return store.sum('value', { keys: [q.label], ...rangeOf(q) });
  });

  app.get('/metrics/sum-window', {
    schema: {
      summary: 'Sum of value for one label over the last `minutes` (default 10): a bare JSON number',
      tags: ['metrics'],
      querystring: {
        type: 'object',
        properties: { label: { type: 'string', minLength: 1, maxLength: 1024 }, minutes: { type: 'number', exclusiveMinimum: 0, maximum: 52_560_000, default: 10 } },
        required: ['label'],
        additionalProperties: false,
      },
      response: { 200: { type: 'number' }, ...errors },
    },
  }, async (request) => {
    const q = request.query as { label: string; minutes: number };
    const to = Date.now();
    return store.sum('value', { keys: [q.label], from: to - q.minutes * 60_000, to });
  });

  app.get('/metrics/window', {
    schema: {
      summary: '{ count, sum, min, max, avg, window: { from, to, label } } within [from, to], optionally for one label (zeros when empty)',
      tags: ['metrics'],
      querystring: { type: 'object', properties: { label: { type: 'string', minLength: 1, maxLength: 1024 }, ...range }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: {
            ...aggregate.properties,
            window: { type: 'object', properties: { from: { type: ['string', 'null'] }, to: { type: ['string', 'null'] }, label: { type: ['string', 'null'] } } },
          },
        },
        ...errors,
      },
    },
  }, async (request) => {
    const q = request.query as { label?: string; from?: string; to?: string };
    const r = rangeOf(q);
    const a = await windowOf({ ...(q.label !== undefined ? { keys: [q.label] } : {}), ...r });
    return { ...a, window: { from: isoOrNull(r.from), to: isoOrNull(r.to), label: q.label ?? null } };
  });

  const windowOf = async (query: Query<MetricRecord>): Promise<{ count: number; sum: number; min: number; max: number; avg: number }> => {
    const [count, sum, min, max] = await Promise.all([store.count(query), store.sum('value', query), store.min('value', query), store.max('value', query)]);
    return { count, sum, min: min ?? 0, max: max ?? 0, avg: count === 0 ? 0 : sum / count };
  };

  app.get('/metrics/top', {
    schema: {
      summary: 'The k labels with the greatest sum of value within [from, to], greatest first (restored from reference v1.0.7)',
      tags: ['metrics'],
      querystring: { type: 'object', properties: { k: { type: 'integer', minimum: 0, maximum: 10_000 }, ...range }, required: ['k'], additionalProperties: false },
      response: { 200: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, value: { type: 'number' } } } }, ...errors },
    },
  }, async (request) => {
    const q = request.query as { k: number; from?: string; to?: string };
    return store.top(q.k, 'value', rangeOf(q));
  });

  app.get('/metrics/snapshot-views', {
    schema: {
      summary: 'Per partition: { segmentCount (1|2), totalCount, hasWrapAround, isEmpty }',
      tags: ['metrics'],
      response: {
        200: {
          type: 'object',
          properties: {
            partitions: { type: 'integer' },
            totalEvents: { type: 'integer' },
            views: { type: 'array', items: { type: 'object', properties: { segmentCount: { type: 'integer' }, totalCount: { type: 'integer' }, hasWrapAround: { type: 'boolean' }, isEmpty: { type: 'boolean' } } } },
          },
        },
        ...errors,
      },
    },
  }, async () => {
    const stats = store.stats;
    const views = stats.partitions.map((p) => {
      // Live events occupy slots (first..last position - 1) mod capacity: two segments when that range wraps.
      const last = p.committed;
      const first = last - p.live + 1;
      const wraps = p.live > 0 && (first - 1) % p.capacity > (last - 1) % p.capacity;
      return { segmentCount: wraps ? 2 : 1, totalCount: p.live, hasWrapAround: wraps, isEmpty: p.live === 0 };
    });
    return { partitions: stats.partitions.length, totalEvents: stats.live, views };
  });

  app.get('/metrics/aggregate-zero-alloc', {
    schema: {
      summary: '{ count, sum, min, max, avg } of every metric within [from, to] (min and max 0 when empty)',
      tags: ['metrics'],
      querystring: { type: 'object', properties: { ...range }, additionalProperties: false },
      response: { 200: aggregate, ...errors },
    },
  }, async (request) => windowOf(rangeOf(request.query as { from?: string; to?: string })));

  app.get('/metrics/process-events', {
    schema: {
      summary: '{ processed, highCpuCount }: every event, and those whose label contains `label` (any when absent) with value > 50',
      tags: ['metrics'],
      querystring: { type: 'object', properties: { label: { type: 'string', maxLength: 1024 } }, additionalProperties: false },
      response: { 200: { type: 'object', properties: { processed: { type: 'integer' }, highCpuCount: { type: 'integer' } } }, ...errors },
    },
  }, async (request) => {
    const label = (request.query as { label?: string }).label ?? '';
    const [processed, groups] = await Promise.all([store.count(), store.groupBy('value', { where: { values: { value: { gt: 50 } } } })]);
    let highCpuCount = 0;
    for (const [key, g] of groups) if (key.includes(label)) highCpuCount += g.count;
    return { processed, highCpuCount };
  });
}

