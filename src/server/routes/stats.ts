/**
 * The figures the dashboard shows, as JSON (the page computes none itself):
 * `GET /stats` (stores, per-partition fill, ingest rate history, request
 * latency p50/p99 over the last minute, open subscriptions and sessions),
 * `GET /stats/top-streams?k=` (streams holding the most events) and
 * `POST /auth/check` (204 when the request's token is accepted).
 */
import type { FastifyInstance } from 'fastify';
import type { Gauge } from 'prom-client';
import type { EventStore } from '../../store/event-store.js';
import type { ServerContext } from '../context.js';
import { IngestHistory } from '../dashboard/ingest-history.js';
import { LatencyWindow } from '../dashboard/latency-window.js';
import { bearer, errors } from './schemas.js';

/** Sampling interval of the ingest history and the latency window, ms. */
const TICK_MS = 1000;
/** Ingest history length: five minutes of one-second points. */
const INGEST_POINTS = 300;
/** Latency window, ms. */
const LATENCY_WINDOW_MS = 60_000;

const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const nullableNum = { type: ['number', 'null'] } as const;
const numbers = { type: 'array', items: num } as const;

const partitionSchema = {
  type: 'object',
  properties: { partition: int, live: int, capacity: int, fill: num, discarded: int, restarts: int, appendsPerSecond: num },
} as const;

const storeSchema = {
  type: 'object',
  properties: {
    committed: int, live: int, capacity: int, fill: num, discarded: int, purged: int, rejected: int, refused: int, restarts: int,
    partitions: { type: 'array', items: partitionSchema },
  },
} as const;

const latencyFigure = { count: int, p50Ms: nullableNum, p99Ms: nullableNum } as const;

const statsSchema = {
  type: 'object',
  properties: {
    time: { type: 'number', description: 'when these figures were read, epoch ms' },
    uptimeSeconds: num,
    auth: { type: 'boolean', description: 'a token is configured (--token)' },
    stores: { type: 'object', properties: { streams: storeSchema, metrics: storeSchema } },
    ingest: {
      type: 'object',
      description: 'events per second committed by each ring store, one point per interval, oldest first (the last five minutes)',
      properties: { intervalMs: int, t: numbers, streams: numbers, metrics: numbers },
    },
    latency: {
      type: 'object',
      description: 'request latency within the last minute, estimated from the histogram buckets of GET /metrics as histogram_quantile does',
      properties: {
        windowSeconds: num,
        all: { type: 'object', properties: latencyFigure },
        routes: { type: 'array', items: { type: 'object', properties: { method: { type: 'string' }, route: { type: 'string' }, ...latencyFigure } } },
      },
    },
    subscriptions: { type: 'integer', description: 'open SSE subscriptions' },
    sessions: { type: 'integer', description: 'open versioned-stream sessions' },
  },
} as const;

/** Live events / capacity (0 for an empty ring): what `ringstore_partition_fill_ratio` exposes. */
const fillOf = (live: number, capacity: number): number => (capacity === 0 ? 0 : live / capacity);

function storeSummary(store: EventStore<unknown>): Record<string, unknown> {
  const s = store.stats;
  return {
    committed: s.committed,
    live: s.live,
    capacity: s.capacity,
    fill: fillOf(s.live, s.capacity),
    discarded: s.discarded,
    purged: s.purged,
    rejected: s.rejected,
    refused: s.refused,
    restarts: s.restarts,
    partitions: s.partitions.map((p) => ({
      partition: p.partition,
      live: p.live,
      capacity: p.capacity,
      fill: fillOf(p.live, p.capacity),
      discarded: p.discarded,
      restarts: p.restarts,
      appendsPerSecond: p.appendsPerSecond,
    })),
  };
}

const gaugeValue = async (g: Gauge): Promise<number> => (await g.get()).values[0]?.value ?? 0;

/** Registers `GET /stats`, `GET /stats/top-streams` and `POST /auth/check`. */
export function statsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { streams, metrics } = ctx.stores;
  const startedAt = Date.now();
  const ingest = new IngestHistory(() => ({ streams: streams.stats.committed, metrics: metrics.stats.committed }), TICK_MS, INGEST_POINTS);
  const latency = new LatencyWindow(ctx.metrics.latency, LATENCY_WINDOW_MS);
  const tick = (): void => {
    const now = Date.now();
    try {
      ingest.tick(now);
      latency.tick(now);
    } catch (err) {
      // The stores closed under a late tick (shutdown): nothing to record.
      ctx.log.debug({ err }, 'stats sample skipped');
    }
  };
  tick();
  const timer = setInterval(tick, TICK_MS);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
  const tags = ['dashboard'];

  app.get('/stats', {
    schema: { summary: 'The dashboard\'s figures: ring stores and partitions, ingest rate history, request latency, subscriptions, sessions', tags, response: { 200: statsSchema, ...errors } },
  }, async () => {
    const now = Date.now();
    return {
      time: now,
      uptimeSeconds: Math.round((now - startedAt) / 100) / 10,
      auth: ctx.config.token !== undefined,
      stores: { streams: storeSummary(streams as EventStore<unknown>), metrics: storeSummary(metrics as EventStore<unknown>) },
      ingest: ingest.series(),
      latency: latency.summary(now),
      subscriptions: await gaugeValue(ctx.metrics.subscriptions),
      sessions: await gaugeValue(ctx.metrics.sessions),
    };
  });

  app.get('/stats/top-streams', {
    schema: {
      summary: 'The k streams holding the most events, most first (ties by name): [{ stream, events }]',
      tags,
      querystring: { type: 'object', properties: { k: { type: 'integer', minimum: 0, maximum: 10_000, default: 10 } }, additionalProperties: false },
      response: { 200: { type: 'array', items: { type: 'object', properties: { stream: { type: 'string' }, events: int } } }, ...errors },
    },
  }, async (request) => {
    const { k } = request.query as { k: number };
    if (k === 0) return [];
    const groups = await streams.groupBy('valor');
    return [...groups]
      .map(([stream, g]) => ({ stream, events: g.count }))
      .sort((a, b) => b.events - a.events || (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))
      .slice(0, k);
  });

  app.post('/auth/check', {
    schema: {
      summary: 'Checks a token: 204 when the request is authorised (always, without --token), else 401 or 403 like any write',
      tags,
      security: bearer,
      response: { 204: { type: 'null', description: 'empty' }, ...errors },
    },
  }, async (_request, reply) => {
    // The daemon's onRequest hook already refused an unauthorised request.
    reply.code(204).send();
  });
}
