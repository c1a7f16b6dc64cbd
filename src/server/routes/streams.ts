/**
 * `/streams/{*stream}`: the reference's order streams on the ring store, plus
 * what it promised: append results, expected versions, idempotency, JSON-array
 * and NDJSON batches, paging by version, aggregates, and SSE subscriptions
 * (`GET /streams/{*stream}/subscribe`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppendResult, StoredEvent } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import { HttpError, badRequest } from '../errors.js';
import { takeEventSource } from '../body-parsers.js';
import { streamRecordJsons } from '../ingest/event-json.js';
import { pooledAppend } from '../ingest/pooled-append.js';
import { takePooledBody } from '../ingest/pooled-body.js';
import { appendResultsJson } from '../ingest/results-json.js';
import { streamRecords } from '../ingest/stream-records.js';
import { streamName } from '../params.js';
import { receiveTime, type StreamRecord } from '../stores.js';
import { isoTime } from '../../ids/event-id.js';
import { ENCODED_JSON, type EncodedAppendOptions } from '../../store/producer.js';
import { appendResult, bearer, errors } from './schemas.js';
import { subscribe } from './subscribe.js';
import { AppendCoalescer } from '../coalesce.js';

const eventSchema = {
  type: 'object',
  description: 'Any JSON object. The reference order fields are checked when present.',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 256, description: 'idempotency id (a retry with the same id is not stored twice)' },
    valor: { type: 'number' },
    gatewayId: { type: 'string' },
    timestamp: { anyOf: [{ type: 'string', maxLength: 64 }, { type: 'number' }, { type: 'null' }] },
  },
  additionalProperties: true,
} as const;

export { appendResultsJson };

/** Largest page of `GET /streams/{*stream}`. */
export const MAX_PAGE = 10_000;

function expectedVersionOf(request: FastifyRequest): number | undefined {
  const q = (request.query as { expectedVersion?: number }).expectedVersion;
  const h = request.headers['expected-version'];
  let fromHeader: number | undefined;
  if (h !== undefined) {
    if (typeof h !== 'string' || !/^\d{1,15}$/.test(h.trim())) throw badRequest('the Expected-Version header must be a non-negative integer');
    fromHeader = Number(h.trim());
  }
  if (q !== undefined && fromHeader !== undefined && q !== fromHeader) throw badRequest('Expected-Version header and expectedVersion query disagree');
  return fromHeader ?? q;
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const h = request.headers['idempotency-key'];
  if (h === undefined) return undefined;
  if (typeof h !== 'string' || h.length === 0 || h.length > 200) throw badRequest('the Idempotency-Key header must be 1 to 200 characters');
  return h;
}

/** What a read returns per event: the posted body plus the server's id and version. */
function readItem(e: StoredEvent<StreamRecord>): Record<string, unknown> {
  return { ...e.payload.d, id: e.id, version: e.version };
}

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Registers the `/streams` routes. */
export function streamRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const store = ctx.stores.streams;
  const { maxBatch } = ctx.config;
  const coalescer = new AppendCoalescer(store);
  const ingest = ctx.ingest;

  app.post('/streams/*', {
    // Validation errors reach the handler, which raises them after a set-aside bulk body's own (pooled-body.ts).
    attachValidation: true,
    schema: {
      summary: 'Append one event (JSON object), a batch (JSON array) or NDJSON lines to a stream',
      description: 'Returns 202 with `{ id, partition, position, version, duplicate }` (an array for a batch). ' +
        'Expected version: `Expected-Version` header or `expectedVersion` query (409 RS_ERR_CONFLICT with expected and actual). ' +
        'Idempotency: the event `id`, or an `Idempotency-Key` header (batch event i gets `<key>:<i>`).',
      tags: ['streams'],
      security: bearer,
      params: { type: 'object', properties: { '*': { type: 'string' } } },
      querystring: { type: 'object', properties: { expectedVersion: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } }, additionalProperties: false },
      headers: {
        type: 'object',
        properties: {
          'expected-version': { type: 'string', description: 'the stream version before this append (0 = new stream)' },
          'idempotency-key': { type: 'string', description: 'retry key: a retry returns the original result' },
        },
      },
      // One schema for both shapes: `properties` applies to an object, `items` to an array.
      body: { ...eventSchema, type: ['object', 'array'], items: eventSchema, minItems: 1, description: 'an event, or an array of events (JSON array or NDJSON)' },
      response: { 202: { description: 'an append result, or an array of them for a batch', anyOf: [appendResult, { type: 'array', items: appendResult }] }, ...errors },
    },
  }, (request, reply) => {
    const body = request.body;
    // One JSON object, no expected version, in memory: answered from the coalescer's callback, with no
    // promise, async frame or options object per request (profiled on single-event POSTs). Same checks in
    // the same order as appendBody, which takes everything else (a bulk body set aside for the pool is an array).
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && request.validationError === undefined && !ctx.stores.replication) {
      const stream = streamName((request.params as { '*': string })['*']);
      if (expectedVersionOf(request) === undefined) {
        const key = idempotencyKeyOf(request);
        const { records, ids } = streamRecords(stream, [body], false, key, receiveTime());
        coalescer.appendWith(records[0], ids?.[0], (err, result) => {
          try {
            if (err !== undefined) reply.send(err);
            else answerOne(reply, result!);
          } catch (e) {
            reply.send(e);
          }
        });
        return undefined;
      }
    }
    return appendBody(request, reply);
  });

  /** The 202 of one coalesced event, and its count. */
  const answerOne = (reply: FastifyReply, result: AppendResult): void => {
    if (result.duplicate) ctx.metrics.rejected.add('streams', 'duplicate', 1);
    else ctx.metrics.ingested.add('streams', 'json', 1);
    reply.code(202).type('application/json; charset=utf-8').send(appendResultsJson(result));
  };

  /** Every other append: batches, NDJSON, pooled bodies, expected versions, --nats. */
  const appendBody = async (request: FastifyRequest, reply: FastifyReply): Promise<string> => {
    const pooled = ingest === undefined ? undefined : takePooledBody(request);
    if (pooled !== undefined) {
      // A bulk body an ingest thread appends; undefined: it is back on the request for the path below.
      const json = await pooledAppend(ctx, ingest!, request, pooled, () => ({
        kind: 'streams', bytes: pooled.bytes, ndjson: pooled.ndjson, stream: streamName((request.params as { '*': string })['*']),
        expectedVersion: expectedVersionOf(request), key: idempotencyKeyOf(request), now: receiveTime(),
      }));
      if (json !== undefined) {
        reply.code(202).type('application/json; charset=utf-8');
        return json;
      }
    }
    if (request.validationError !== undefined) throw request.validationError;
    const stream = streamName((request.params as { '*': string })['*']);
    const body = request.body as Record<string, unknown> | Record<string, unknown>[];
    const batch = Array.isArray(body);
    const events = batch ? body : [body];
    if (events.length > maxBatch) throw new HttpError('RS_ERR_BODY_TOO_LARGE', `a batch holds at most ${maxBatch} events (--max-batch), got ${events.length}`);
    const expectedVersion = expectedVersionOf(request);
    const key = idempotencyKeyOf(request);
    const now = receiveTime();
    // The parsed body is ours: timestamps are normalised in place.
    const { records, ids } = streamRecords(stream, events, batch, key, now);
    const opts: EncodedAppendOptions = { ...(expectedVersion !== undefined ? { expectedVersion } : {}), ...(ids !== undefined ? { id: batch ? ids : ids[0] } : {}) };
    // A batch's events are stored as their own JSON text where it is what JSON.stringify would write (event-json.ts).
    const source = takeEventSource(request);
    if (batch && source !== undefined && !ctx.stores.replication) {
      const jsons = streamRecordJsons(records, source, isoTime(now));
      if (jsons !== undefined) opts[ENCODED_JSON] = jsons;
    }
    let result: AppendResult | AppendResult[];
    try {
      // --nats: through the JetStream log, applied by every daemon (src/server/replication).
      if (ctx.stores.replication) result = await ctx.stores.replication.appendStreams(records, expectedVersion, ids, now).then((r) => (batch ? r : r[0]));
      else if (batch) result = await store.append(records, opts);
      else if (expectedVersion === undefined) result = await coalescer.append(records[0], ids?.[0]);
      else result = await store.append(records[0], opts);
    } catch (err) {
      if ((err as { code?: string }).code === 'RS_ERR_CONFLICT') ctx.metrics.rejected.add('streams', 'conflict', events.length);
      throw err;
    }
    const results = Array.isArray(result) ? result : [result];
    let duplicates = 0;
    for (const r of results) if (r.duplicate) duplicates++;
    if (duplicates > 0) ctx.metrics.rejected.add('streams', 'duplicate', duplicates);
    if (results.length > duplicates) {
      const format = (request as unknown as { ndjson?: boolean }).ndjson ? 'ndjson' : batch ? 'array' : 'json';
      ctx.metrics.ingested.add('streams', format, results.length - duplicates);
    }
    // Serialised here: the response schema's anyOf would make the serializer validate.
    reply.code(202).type('application/json; charset=utf-8');
    return appendResultsJson(result);
  };

  app.get('/streams/*', {
    schema: {
      summary: 'Read a stream a page at a time, aggregate it, or subscribe to it (…/subscribe, server-sent events)',
      description: 'Without aggregate: a JSON array of the posted events with the server `id` and `version`, in version order, ' +
        'from version `from` (0 or 1 = the oldest held), at most `limit`; when the page is full, `X-Next-From` gives the next `from`. ' +
        'With `aggregate=true`: `{ stream, totalEvents, total<Sum>, gateways|groups, durationMs }` (sum defaults to valor, groupBy to gatewayId). ' +
        'A path ending in `/subscribe` streams `text/event-stream` from version `from` (or `Last-Event-ID` + 1).',
      tags: ['streams'],
      params: { type: 'object', properties: { '*': { type: 'string' } } },
      querystring: {
        type: 'object',
        properties: {
          from: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'first version (default: the oldest held)' },
          limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: MAX_PAGE },
          aggregate: { type: 'boolean', default: false },
          sum: { type: 'string', minLength: 1, maxLength: 128, default: 'valor' },
          groupBy: { type: 'string', minLength: 1, maxLength: 128, default: 'gatewayId' },
        },
        additionalProperties: false,
      },
      response: { ...errors },
    },
  }, async (request, reply) => {
    const raw = (request.params as { '*': string })['*'];
    const q = request.query as { from?: number; limit: number; aggregate: boolean; sum: string; groupBy: string };
    if (typeof raw === 'string' && raw.endsWith('/subscribe')) {
      const stream = streamName(raw.slice(0, -'/subscribe'.length));
      // HEAD: the headers a subscription would get, at once, and no subscription.
      if (request.method === 'HEAD') {
        reply.type('text/event-stream; charset=utf-8').header('cache-control', 'no-cache, no-transform');
        return '';
      }
      subscribe(ctx, request, reply, stream, q.from);
      return reply;
    }
    const stream = streamName(raw);
    if (q.aggregate) {
      const started = performance.now();
      let totalEvents = 0;
      let total = 0;
      const groups: Record<string, { count: number; sum: number }> = Object.create(null);
      for await (const e of store.events({ keys: [stream] })) {
        totalEvents++;
        // Own fields only: groupBy=constructor read Object.prototype's (every event grouped under "undefined").
        const d = e.payload.d;
        const v = Object.hasOwn(d, q.sum) ? d[q.sum] : undefined;
        const x = typeof v === 'number' && Number.isFinite(v) ? v : 0;
        total += x;
        const g = Object.hasOwn(d, q.groupBy) ? d[q.groupBy] : undefined;
        const gk = typeof g === 'string' ? g : g === undefined || g === null ? '' : JSON.stringify(g);
        const cur = groups[gk] ?? (groups[gk] = { count: 0, sum: 0 });
        cur.count++;
        cur.sum += x;
      }
      return {
        stream,
        totalEvents,
        [`total${capital(q.sum)}`]: total,
        [q.groupBy === 'gatewayId' ? 'gateways' : 'groups']: { ...groups },
        durationMs: performance.now() - started,
      };
    }
    const from = q.from === undefined || q.from < 1 ? 1 : q.from;
    const page = await store.snapshot({ keys: [stream], fromVersion: from, limit: q.limit });
    page.sort((a, b) => a.version - b.version);
    if (page.length === q.limit) reply.header('x-next-from', String(page[page.length - 1].version + 1));
    return page.map(readItem);
  });
}
