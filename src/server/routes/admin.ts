/**
 * `POST /admin/clear`, `/admin/reset`, `/admin/purge` (the reference's): act on
 * both ring stores (streams and metrics). Versioned streams are not touched.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { queryTime } from '../time.js';
import { bearer, errors, timeQuery } from './schemas.js';

/** Registers the admin routes. */
export function adminRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { streams, metrics } = ctx.stores;
  // --nats: through the logs, so that every daemon clears (purges) at the same point of them.
  const repl = ctx.stores.replication;
  const clearBoth = async (): Promise<number> => (repl ? repl.clear() : (await Promise.all([streams.clear(), metrics.clear()])).reduce((a, b) => a + b, 0));

  app.post('/admin/clear', {
    schema: {
      summary: 'Remove every event of both ring stores: { cleared: true, removed }',
      tags: ['admin'],
      security: bearer,
      response: { 200: { type: 'object', properties: { cleared: { type: 'boolean' }, removed: { type: 'integer' } } }, ...errors },
    },
  }, async () => ({ cleared: true, removed: await clearBoth() }));

  app.post('/admin/reset', {
    schema: {
      summary: 'Same as clear (the ring stores keep their counters): { reset: true, removed }',
      tags: ['admin'],
      security: bearer,
      response: { 200: { type: 'object', properties: { reset: { type: 'boolean' }, removed: { type: 'integer' } } }, ...errors },
    },
  }, async () => ({ reset: true, removed: await clearBoth() }));

  app.post('/admin/purge', {
    schema: {
      summary: 'Remove events older than `olderThan` (default: now − olderThanMinutes, default 60): { purgedBefore, purged }',
      tags: ['admin'],
      security: bearer,
      querystring: {
        type: 'object',
        properties: { olderThanMinutes: { type: 'number', minimum: 0, maximum: 52_560_000 }, olderThan: timeQuery },
        additionalProperties: false,
      },
      response: { 200: { type: 'object', properties: { purgedBefore: { type: 'string' }, purged: { type: 'integer' } } }, ...errors },
    },
  }, async (request) => {
    const q = request.query as { olderThanMinutes?: number; olderThan?: string };
    const cutoff = queryTime('olderThan', q.olderThan) ?? Date.now() - (q.olderThanMinutes ?? 60) * 60_000;
    const purged = repl ? await repl.purge(cutoff) : (await Promise.all([streams.purge({ olderThan: cutoff }), metrics.purge({ olderThan: cutoff })])).reduce((a, b) => a + b, 0);
    return { purgedBefore: new Date(cutoff).toISOString(), purged };
  });
}
