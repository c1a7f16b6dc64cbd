/**
 * A bulk body set aside for the ingest pool, and its way back. The content-type
 * parser leaves the bytes on the request and gives fastify a one-event
 * stand-in that passes the route's body schema, so the querystring and headers
 * are still validated as always (the route has `attachValidation`). If the
 * ingest thread gives the bytes back (anything not certainly valid), or the
 * request has another problem, {@link restoreBody} parses them on the main
 * thread and validates them with the route's own body validator: every error
 * answer, and which error comes first, is what it was without the pool.
 */
import type { FastifyRequest } from 'fastify';
import type { BodyParsers } from '../body-parsers.js';

/** The set-aside body of a request. */
export interface PooledBody {
  bytes: Buffer;
  ndjson: boolean;
  parsers: BodyParsers;
}

const POOLED = Symbol('ringstore.pooledBody');
type WithPooled = FastifyRequest & { [POOLED]?: PooledBody };

/** The bulk routes whose array bodies the pool takes. */
const BULK_ROUTES = new Set(['/streams/*', '/metrics']);

/** `POST /streams/…` or `POST /metrics` (cheap test first; the route's pattern confirms). */
export function isBulkRoute(request: FastifyRequest): boolean {
  if (request.method !== 'POST') return false;
  const url = request.url;
  if (!url.startsWith('/streams/') && !url.startsWith('/metrics')) return false;
  return BULK_ROUTES.has(request.routeOptions.url ?? '');
}

/** Sets the bytes aside; returns the stand-in body that fastify validates instead. */
export function poolBody(request: FastifyRequest, bytes: Buffer, ndjson: boolean, parsers: BodyParsers): unknown[] {
  (request as WithPooled)[POOLED] = { bytes, ndjson, parsers };
  // One event that both bulk routes' schemas accept (a fresh object: validators may annotate it).
  return [{ label: 'pooled', value: 0 }];
}

/** The set-aside body, if the parser set one aside (taken once). */
export function takePooledBody(request: FastifyRequest): PooledBody | undefined {
  const r = request as WithPooled;
  const p = r[POOLED];
  if (p !== undefined) r[POOLED] = undefined;
  return p;
}

/**
 * Parses `bytes` as the body parser would have, puts the result on
 * `request.body` and validates it with the route's body validator: throws the
 * parse error, or the validation error fastify would have raised, else the
 * querystring or headers error fastify attached.
 */
export function restoreBody(request: FastifyRequest, pooled: PooledBody, bytes: Buffer): void {
  const body = pooled.parsers.parse(request, bytes, pooled.ndjson);
  request.body = body;
  const validate = request.getValidationFunction('body') as ((data: unknown) => boolean) & { errors?: { instancePath?: string; message?: string }[] | null };
  if (validate !== undefined && !validate(body === undefined ? null : body)) {
    const errors = validate.errors ?? [];
    // fastify's default schema error formatter and error fields (lib/context.js, lib/validation.js).
    const err = new Error(errors.map((e) => `body${e.instancePath ?? ''} ${e.message}`).join(', ')) as Error & Record<string, unknown>;
    err.statusCode = 400;
    err.code = 'FST_ERR_VALIDATION';
    err.validation = errors;
    err.validationContext = 'body';
    throw err;
  }
  if (request.validationError !== undefined) throw request.validationError;
}
