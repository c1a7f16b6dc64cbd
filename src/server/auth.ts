/**
 * Bearer-token check: when a token is configured, every write (POST, PUT,
 * PATCH, DELETE) and every `/admin` route needs `Authorization: Bearer <token>`
 * (401 without it or with another scheme, 403 with a wrong token). Reads stay open. Comparison is
 * constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when a request needs the token. */
export function needsAuth(request: FastifyRequest): boolean {
  return WRITE_METHODS.has(request.method) || request.url.startsWith('/admin');
}

/** Builds the onRequest check for one token. */
export function authChecker(token: string): (request: FastifyRequest) => void {
  const expected = digest(token);
  return (request) => {
    if (!needsAuth(request)) return;
    const header = request.headers.authorization;
    if (header === undefined || header === '') throw new HttpError('RS_ERR_UNAUTHORIZED', 'this route needs "Authorization: Bearer <token>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) throw new HttpError('RS_ERR_UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"');
    if (!timingSafeEqual(digest(m[1]), expected)) throw new HttpError('RS_ERR_FORBIDDEN', 'the bearer token is not valid');
  };
}
