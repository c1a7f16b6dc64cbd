/**
 * The bulk routes' way through the ingest pool, on the main thread: build
 * the task from the request, run it on an ingest thread, count what was
 * stored, rejected or duplicated, and rebuild a store's refusal as the typed
 * error the route would have thrown. Whatever the pool does not take (a
 * request with a bad querystring or header, a body an ingest thread gives
 * back) is restored onto the request and left to the route's own path.
 */
import type { FastifyRequest } from 'fastify';
import { errorFromWire, RingstoreError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import type { IngestPool } from './ingest-pool.js';
import { restoreBody, type PooledBody } from './pooled-body.js';
import type { IngestTask } from './wire.js';

/**
 * Appends a set-aside body through the pool. Returns the `/streams` answer
 * body (or `''` for `/metrics`), or undefined when the route must go on with
 * the restored body. `task` reads the request's other parts and may throw
 * (a bad header): the route then meets that error itself, after the body's.
 */
export async function pooledAppend(ctx: ServerContext, pool: IngestPool, request: FastifyRequest, pooled: PooledBody, task: () => IngestTask): Promise<string | undefined> {
  let t: IngestTask | undefined;
  if (request.validationError === undefined) {
    try {
      t = task();
    } catch { /* restored below: the route raises it in its place */ }
  }
  if (t === undefined) {
    restoreBody(request, pooled, pooled.bytes);
    return undefined;
  }
  let answer;
  try {
    answer = await pool.run(t);
  } catch (err) {
    // The thread died under the task (piscina replaces it): whether the batch was stored is unknown.
    request.log.error({ err }, 'ingest thread failed');
    throw new RingstoreError('RS_ERR_WORKER', 'an ingest thread failed while appending; retry (ids make a retry safe)');
  }
  const store = t.kind;
  if (answer.kind === 'fallback') {
    restoreBody(request, pooled, Buffer.from(answer.bytes.buffer, answer.bytes.byteOffset, answer.bytes.byteLength));
    return undefined;
  }
  if (answer.kind === 'failed') {
    if (answer.internal !== undefined) request.log.error({ err: answer.internal }, 'ingest thread: unexpected error');
    if (answer.error.code === 'RS_ERR_CONFLICT') ctx.metrics.rejected.add(store, 'conflict', answer.count);
    throw errorFromWire(answer.error);
  }
  if (answer.duplicates > 0) ctx.metrics.rejected.add(store, 'duplicate', answer.duplicates);
  if (answer.count > answer.duplicates) ctx.metrics.ingested.add(store, pooled.ndjson ? 'ndjson' : 'array', answer.count - answer.duplicates);
  return answer.json ?? '';
}
