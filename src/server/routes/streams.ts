/**
 * `/streams/{*stream}`: the reference's order streams on the ring store, plus
 * what it promised: append results, expected versions, idempotency, JSON-array
 * and NDJSON batches, paging by version, aggregates, and SSE subscriptions
 * (`GET /streams/{*stream}/subscribe`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isoTime, newEventId } from '../../streams/envelope.js';
import type { AppendResult, StoredEvent } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import { HttpError, badRequest } from '../errors.js';
import { streamName } from '../params.js';
import { eventTime } from '../time.js';
import { receiveTime, type StreamRecord } from '../stores.js';
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

/** Largest page of `GET /streams/{*stream}`. */
export const MAX_PAGE = 10_000;

/** The event's timestamp as ISO 8601 UTC under the daemon's time rule (`time.ts`): unset means `now`. */
function normaliseTimestamp(raw: unknown, now: number, index: number): string {
  return isoTime(eventTime(index < 0 ? 'timestamp' : `[${index}].timestamp`, raw, now));
}

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

/** Ids that need no JSON escaping (server ULIDs, most caller ids). */
const PLAIN_ID = /^[\w.:~+/=-]*$/;

/** One append result as JSON, byte for byte what `JSON.stringify` gives (the key order is fixed). */
function resultJson(r: AppendResult): string {
  const id = PLAIN_ID.test(r.id) ? `"${r.id}"` : JSON.stringify(r.id);
  return `{"id":${id},"partition":${r.partition},"position":${r.position},"version":${r.version},"duplicate":${r.duplicate ? 'true' : 'false'}}`;
}

/**
 * Serialises append results: what `JSON.stringify(result)` gives, built from
 * the five known fields (profiled: the generic stringify of 100 results was
 * most of the handler's own time on batches).
 */
export function appendResultsJson(result: AppendResult | AppendResult[]): string {
  if (!Array.isArray(result)) return resultJson(result);
  let out = '[';
  for (let i = 0; i < result.length; i++) out += (i === 0 ? '' : ',') + resultJson(result[i]);
  return out + ']';
}

/** Registers the `/streams` routes. */
export function streamRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const store = ctx.stores.streams;
  const { maxBatch } = ctx.config;
  const coalescer = new AppendCoalescer(store);

  app.post('/streams/*', {
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
  }, async (request, reply) => {
    const stream = streamName((request.params as { '*': string })['*']);
    const body = request.body as Record<string, unknown> | Record<string, unknown>[];
    const batch = Array.isArray(body);
    const events = batch ? body : [body];
    if (events.length > maxBatch) throw new HttpError('RS_ERR_BODY_TOO_LARGE', `a batch holds at most ${maxBatch} events (--max-batch), got ${events.length}`);
    const expectedVersion = expectedVersionOf(request);
    const key = idempotencyKeyOf(request);
    const now = receiveTime();
    const nowIso = isoTime(now);
    const records: StreamRecord[] = new Array(events.length);
    let ids: string[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const d = events[i];
      if (d === null || typeof d !== 'object' || Array.isArray(d)) throw badRequest(batch ? `[${i}] must be a JSON object` : 'the body must be a JSON object or an array of them');
      // The parsed body is ours: normalise its timestamp in place.
      d.timestamp = d.timestamp === undefined || d.timestamp === null ? nowIso : normaliseTimestamp(d.timestamp, now, batch ? i : -1);
      records[i] = { s: stream, t: now, d };
      const id = key !== undefined ? (batch ? `${key}:${i}` : key) : typeof d.id === 'string' ? d.id : undefined;
      if (id !== undefined) {
        ids ??= [];
        ids[i] = id;
      }
    }
    if (ids !== undefined) for (let i = 0; i < events.length; i++) ids[i] ??= newEventId(now);
    const opts = { ...(expectedVersion !== undefined ? { expectedVersion } : {}), ...(ids !== undefined ? { id: batch ? ids : ids[0] } : {}) };
    let result: AppendResult | AppendResult[];
    try {
      if (batch) result = await store.append(records, opts);
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
  });

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
        const v = e.payload.d[q.sum];
        const x = typeof v === 'number' && Number.isFinite(v) ? v : 0;
        total += x;
        const g = e.payload.d[q.groupBy];
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
