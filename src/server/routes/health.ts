/** `GET /health` (the reference's `"OK"`), `GET /ready`, Prometheus `GET /metrics`. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { errors } from './schemas.js';

/** Registers the health, readiness and Prometheus routes. */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/health', {
    schema: { summary: 'Liveness: the JSON string "OK"', tags: ['health'], response: { 200: { type: 'string' } } },
    config: { access: 'public' },
  }, async (_request, reply) => {
    // A string payload with a JSON content type is sent as is: the JSON string "OK", as the reference.
    reply.type('application/json; charset=utf-8');
    return '"OK"';
  });

  app.get('/ready', {
    schema: {
      summary: 'Readiness: 200 once listening with open stores, 503 RS_ERR_CLOSED while shutting down, 503 RS_ERR_REPLICATION_GAP when --nats fell behind a ring-store log',
      tags: ['health'],
      response: { 200: { type: 'object', properties: { ready: { type: 'boolean' } } }, ...errors },
    },
    config: { access: 'public' },
  }, async () => {
    if (ctx.closing) throw new HttpError('RS_ERR_CLOSED', 'the daemon is shutting down');
    const gap = ctx.stores.replication?.gap;
    if (gap !== undefined) throw new HttpError('RS_ERR_REPLICATION_GAP', `this daemon fell behind the ring-store log ${gap.stream} by more than it keeps (messages ${gap.expected}..${gap.got - 1} were dropped before it applied them): its ring store differs from the other daemons'; restart it`, { ...gap });
    return { ready: true };
  });

  app.get('/metrics', {
    schema: {
      summary: 'Prometheus exposition (text format 0.0.4)',
      tags: ['health'],
      produces: ['text/plain'],
    },
  }, async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    reply.type(ctx.metrics.registry.contentType);
    return text;
  });
}
