/**
 * The dashboard page: `GET /` (index.html) and `GET /dashboard/{file}` (its
 * modules, styles and the vendored uPlot), served from memory (see
 * dashboard/assets.ts). The page reads every figure from the JSON API.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { loadAssets, type Asset } from '../dashboard/assets.js';
import { HttpError } from '../errors.js';
import { errors } from './schemas.js';

/** Same-origin only: no inline script, no CDN, no framing. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Registers `GET /` and `GET /dashboard/*`. */
export function dashboardRoutes(app: FastifyInstance, ctx: ServerContext, assets: () => Map<string, Asset> = loadAssets): void {
  let files: Map<string, Asset>;
  let missing: string | undefined;
  try {
    files = assets();
  } catch (err) {
    // The API works without its page: say why the page is missing, once, and answer 404.
    files = new Map();
    missing = (err as Error).message;
    ctx.log.error({ err }, 'dashboard files not found: GET / answers 404');
  }

  const send = (name: string, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const a = files.get(name);
    if (a === undefined) {
      const why = missing !== undefined ? ` (the dashboard is not installed: ${missing})` : '';
      throw new HttpError('RS_ERR_NOT_FOUND', `no dashboard file ${JSON.stringify(name.slice(0, 200))}${why}`);
    }
    reply
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .header('etag', a.etag)
      .type(a.type);
    return request.headers['if-none-match'] === a.etag ? reply.code(304).send() : reply.send(a.body);
  };
  const tags = ['dashboard'];

  app.get('/', {
    schema: { summary: 'The dashboard (HTML)', tags, produces: ['text/html'], response: { ...errors } },
  }, async (request, reply) => send('index.html', request, reply));

  app.get('/dashboard/*', {
    schema: {
      summary: 'A file of the dashboard (its modules, styles, uPlot); 404 for any other name',
      tags,
      params: { type: 'object', properties: { '*': { type: 'string', maxLength: 256 } } },
      response: { ...errors },
    },
  }, async (request, reply) => send((request.params as { '*': string })['*'], request, reply));
}
