/**
 * Routes that take no body refuse one that carries something. `POST
 * /admin/purge` reads its cutoff from the query string only: a body such as
 * `{ "olderThan": "2020-01-01" }` used to be ignored, and the purge ran with
 * the default cutoff (one hour ago), removing what the caller meant to keep.
 * The same holds for `/admin/clear` with `{ "stream": "x" }` (it clears
 * everything). An empty body, `{}` and `null` carry nothing and stay accepted
 * (the reference's clients send `Content-Type: application/json` on every
 * request).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** Methods whose routes may have a body. */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Hook = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/** Whether a parsed body carries nothing. */
function empty(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body !== 'object' || Array.isArray(body)) return false;
  for (const _ in body) return false;
  return true;
}

/**
 * The preValidation hook of a route declared without a body schema (method
 * and URL for the message), or undefined when the route may take a body.
 */
export function bodylessHook(method: string | string[], url: string, schema: { body?: unknown } | undefined): Hook | undefined {
  const methods = Array.isArray(method) ? method : [method];
  if (schema === undefined || schema.body !== undefined || !methods.some((m) => WITH_BODY.has(m))) return undefined;
  return (request, _reply, done) => {
    if (empty(request.body)) {
      done();
      return;
    }
    const what = typeof request.body === 'object' && !Array.isArray(request.body)
      ? `a body with ${Object.keys(request.body as object).slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`
      : 'a body';
    done(new HttpError('RS_ERR_BAD_REQUEST', `${request.method} ${url} takes no body, and got ${what}: its parameters go in the query string (nothing was done)`));
  };
}
