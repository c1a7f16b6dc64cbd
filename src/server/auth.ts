/**
 * Bearer-token checks, bound per route at registration (an `onRequest` hook
 * only on the routes that need one):
 *
 * - `write` routes (POST, PUT, PATCH, DELETE, and everything under `/admin`)
 *   need `--token` when it is set;
 * - `read` routes (every other route) need `--read-token` or `--token` when a
 *   read token is set, and are open otherwise;
 * - `public` routes (`config: { access: 'public' }`: health, readiness, the
 *   OpenAPI document) are always open.
 *
 * 401 without an `Authorization: Bearer` header (or with another scheme), 403
 * with a token that is not accepted. Comparison is constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** Who may call a route. */
export type Access = 'public' | 'read' | 'write';

/** The route option that opens a route to everyone: `app.get(url, { config: { access: 'public' } }, …)`. */
export interface AccessConfig {
  access?: Access;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `'public'`: no token, even with `--read-token` (health, readiness, the OpenAPI document). */
    access?: Access;
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The access a route needs, from its method, URL and `config.access`. */
export function routeAccess(method: string | readonly string[], url: string, config: AccessConfig | undefined): Access {
  const methods = typeof method === 'string' ? [method] : method;
  if (methods.some((m) => WRITE_METHODS.has(m.toUpperCase())) || url.startsWith('/admin')) return 'write';
  return config?.access === 'public' ? 'public' : 'read';
}

type OnRequest = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/**
 * The `onRequest` hook enforcing `access` with these tokens, or undefined when
 * the route is open under this configuration.
 */
export function accessHook(access: Access, tokens: { token?: string | undefined; readToken?: string | undefined }): OnRequest | undefined {
  if (access === 'public' || tokens.token === undefined) return undefined;
  if (access === 'read' && tokens.readToken === undefined) return undefined;
  const accepted = access === 'write' ? [digest(tokens.token)] : [digest(tokens.token), digest(tokens.readToken as string)];
  return (request, _reply, done) => {
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      done(new HttpError('RS_ERR_UNAUTHORIZED', `this route needs "Authorization: Bearer <${access === 'write' ? 'token' : 'read token or token'}>"`));
      return;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) {
      done(new HttpError('RS_ERR_UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"'));
      return;
    }
    const given = digest(m[1]);
    // Every accepted token is compared, so the time does not tell which one matched.
    let ok = false;
    for (const d of accepted) ok = timingSafeEqual(given, d) || ok;
    done(ok ? undefined : new HttpError('RS_ERR_FORBIDDEN', access === 'write' ? 'the bearer token is not valid for writes' : 'the bearer token is not valid'));
  };
}
