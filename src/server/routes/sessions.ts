/**
 * Versioned streams over HTTP (`ringstore/streams`): a client opens a leased
 * session on a stream (`POST /sessions`), uses it by id, renews it and closes
 * it. The session id is a random UUID and acts as a capability. Sessions whose
 * lease expired answer 410 for a grace minute, then are swept (404).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_SESSION_TIMEOUT_MS } from '../../streams/lease.js';
import type { StreamSession } from '../../streams/session.js';
import type { ServerContext } from '../context.js';
import { HttpError, badRequest } from '../errors.js';
import { bearer, errors } from './schemas.js';

const GRACE_MS = 60_000;
const SWEEP_MS = 5_000;

const streamIdSchema = {
  anyOf: [
    { type: 'string', minLength: 3, maxLength: 1600, description: '"name/id" or "database/name/id"' },
    {
      type: 'object',
      properties: { database: { type: 'string', minLength: 1, maxLength: 512 }, name: { type: 'string', minLength: 1, maxLength: 512 }, id: { type: 'string', minLength: 1, maxLength: 512 } },
      required: ['name', 'id'],
      additionalProperties: false,
    },
  ],
} as const;

const sessionParams = { type: 'object', properties: { sessionId: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['sessionId'] } as const;
const versionParam = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

const streamEvent = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    data: {},
    metadata: { type: 'object', additionalProperties: true },
    version: { type: 'integer' },
  },
} as const;

const newEvent = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 256 },
    type: { type: 'string', minLength: 1, maxLength: 256 },
    data: {},
    metadata: { type: 'object', additionalProperties: true },
    expectedVersion: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
  },
  required: ['type', 'data'],
  additionalProperties: false,
} as const;

const snapshotSchema = {
  type: 'object',
  properties: { version: { type: 'integer' }, state: {}, createdAt: { type: 'string' } },
} as const;

/** Registers the `/sessions` routes. */
export function sessionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const provider = ctx.stores.versioned;
  const sessions = new Map<string, StreamSession>();

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, s] of sessions) {
      if (s.expiresAt + GRACE_MS < now) {
        sessions.delete(id);
        void s.close().catch(() => undefined);
      }
    }
    ctx.metrics.sessions.set(sessions.size);
  }, SWEEP_MS);
  sweep.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await Promise.allSettled([...sessions.values()].map((s) => s.close()));
    sessions.clear();
  });

  const get = (request: FastifyRequest): StreamSession => {
    const id = (request.params as { sessionId: string }).sessionId;
    const s = sessions.get(id);
    if (s === undefined) throw new HttpError('RS_ERR_STORE_NOT_OPEN', `no open session ${id.slice(0, 64)}`, { sessionId: id.slice(0, 64) });
    return s;
  };
  const tags = ['versioned streams'];

  app.post('/sessions', {
    schema: {
      summary: 'Open a leased session on a versioned stream (waits up to openTimeoutMs when held; 423 RS_ERR_STORE_OPEN_FAILED)',
      tags,
      security: bearer,
      body: {
        type: 'object',
        properties: {
          stream: streamIdSchema,
          sessionTimeoutMs: { type: 'integer', minimum: 1, maximum: MAX_SESSION_TIMEOUT_MS },
          openTimeoutMs: { type: 'integer', minimum: 0, maximum: 60_000 },
        },
        required: ['stream'],
        additionalProperties: false,
      },
      response: {
        201: {
          type: 'object',
          properties: {
            sessionId: { type: 'string' },
            storeId: { type: 'string' },
            stream: { type: 'object', properties: { database: { type: 'string' }, name: { type: 'string' }, id: { type: 'string' } } },
            version: { type: 'integer' },
            expiresAt: { type: 'number' },
          },
        },
        ...errors,
      },
    },
  }, async (request, reply) => {
    const b = request.body as { stream: string | { database?: string; name: string; id: string }; sessionTimeoutMs?: number; openTimeoutMs?: number };
    // Stop waiting for the lease when the client goes away: the response closes before it is sent only then.
    // (Not the request's `close`: it fires as soon as the body has been read.)
    const ac = new AbortController();
    const res = reply.raw;
    const onClose = (): void => {
      if (!res.writableFinished) ac.abort(new Error('client went away'));
    };
    res.once('close', onClose);
    let s: StreamSession;
    try {
      s = await provider.open(b.stream, {
        ...(b.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: b.sessionTimeoutMs } : {}),
        ...(b.openTimeoutMs !== undefined ? { openTimeoutMs: b.openTimeoutMs } : {}),
        signal: ac.signal,
      });
    } finally {
      res.off('close', onClose);
    }
    sessions.set(s.sessionId, s);
    ctx.metrics.sessions.set(sessions.size);
    reply.code(201);
    return { sessionId: s.sessionId, storeId: s.storeId, stream: s.streamId, version: await s.version(), expiresAt: s.expiresAt };
  });

  app.post('/sessions/:sessionId/renew', {
    schema: {
      summary: 'Extend the lease: { expiresAt }',
      tags,
      security: bearer,
      params: sessionParams,
      body: { type: ['object', 'null'], properties: { timeoutMs: { type: 'integer', minimum: 1, maximum: MAX_SESSION_TIMEOUT_MS } }, additionalProperties: false },
      response: { 200: { type: 'object', properties: { expiresAt: { type: 'number' } } }, ...errors },
    },
  }, async (request) => {
    const s = get(request);
    const timeoutMs = (request.body as { timeoutMs?: number } | null | undefined)?.timeoutMs;
    return { expiresAt: await s.renew(timeoutMs) };
  });

  app.delete('/sessions/:sessionId', {
    schema: { summary: 'Close the session (releases the lease); 204', tags, security: bearer, params: sessionParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    const s = get(request);
    sessions.delete(s.sessionId);
    ctx.metrics.sessions.set(sessions.size);
    await s.close();
    reply.code(204).send();
  });

  app.post('/sessions/:sessionId/events', {
    schema: {
      summary: 'Append events atomically: 201 { version } (409 RS_ERR_STORE_VERSION_MISMATCH or RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID; nothing written)',
      tags,
      security: bearer,
      params: sessionParams,
      headers: { type: 'object', properties: { 'expected-version': { type: 'string' } } },
      body: {
        type: 'object',
        properties: { events: { type: 'array', items: newEvent, minItems: 1, maxItems: 10_000 }, expectedVersion: versionParam },
        required: ['events'],
        additionalProperties: false,
      },
      response: { 201: { type: 'object', properties: { version: { type: 'integer' } } }, ...errors },
    },
  }, async (request, reply) => {
    const s = get(request);
    const b = request.body as { events: never[]; expectedVersion?: number };
    let expectedVersion = b.expectedVersion;
    const h = request.headers['expected-version'];
    if (typeof h === 'string') {
      if (!/^\d{1,15}$/.test(h.trim())) throw badRequest('the Expected-Version header must be a non-negative integer');
      if (expectedVersion !== undefined && expectedVersion !== Number(h)) throw badRequest('Expected-Version header and body expectedVersion disagree');
      expectedVersion = Number(h);
    }
    const version = await s.append(b.events, expectedVersion !== undefined ? { expectedVersion } : {});
    reply.code(201);
    return { version };
  });

  app.get('/sessions/:sessionId/events', {
    schema: {
      summary: 'Read events 1..toVersion (default head), or from the greatest snapshot <= toVersion with useSnapshot=true: { snapshot?, events }',
      tags,
      params: sessionParams,
      querystring: { type: 'object', properties: { toVersion: versionParam, useSnapshot: { type: 'boolean' } }, additionalProperties: false },
      response: { 200: { type: 'object', properties: { snapshot: snapshotSchema, events: { type: 'array', items: streamEvent } } }, ...errors },
    },
  }, async (request) => {
    const q = request.query as { toVersion?: number; useSnapshot?: boolean };
    return get(request).read({ ...(q.toVersion !== undefined ? { toVersion: q.toVersion } : {}), useSnapshot: q.useSnapshot === true });
  });

  app.get('/sessions/:sessionId/events/:version', {
    schema: {
      summary: 'One event (404 RS_ERR_STREAM_VERSION_NOT_FOUND)',
      tags,
      params: { type: 'object', properties: { ...sessionParams.properties, version: versionParam }, required: ['sessionId', 'version'] },
      response: { 200: streamEvent, ...errors },
    },
  }, async (request) => get(request).get((request.params as { version: number }).version));

  app.get('/sessions/:sessionId/slice', {
    schema: {
      summary: 'Events first..last inclusive that exist: { events }',
      tags,
      params: sessionParams,
      querystring: { type: 'object', properties: { first: versionParam, last: versionParam }, required: ['first', 'last'], additionalProperties: false },
      response: { 200: { type: 'object', properties: { events: { type: 'array', items: streamEvent } } }, ...errors },
    },
  }, async (request) => {
    const q = request.query as { first: number; last: number };
    return { events: await get(request).slice(q.first, q.last) };
  });

  app.get('/sessions/:sessionId/version', {
    schema: { summary: 'The stream head: { version }', tags, params: sessionParams, response: { 200: { type: 'object', properties: { version: { type: 'integer' } } }, ...errors } },
  }, async (request) => ({ version: await get(request).version() }));

  app.get('/sessions/:sessionId/ids/:eventId', {
    schema: {
      summary: 'Version of the event with this id: { version } (404 RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND)',
      tags,
      params: { type: 'object', properties: { ...sessionParams.properties, eventId: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['sessionId', 'eventId'] },
      response: { 200: { type: 'object', properties: { version: { type: 'integer' } } }, ...errors },
    },
  }, async (request) => ({ version: await get(request).versionOf((request.params as { eventId: string }).eventId) }));

  app.post('/sessions/:sessionId/snapshots', {
    schema: {
      summary: 'Store a snapshot of the state at version: 201 { version } (404 RS_ERR_STREAM_VERSION_NOT_FOUND past the head)',
      tags,
      security: bearer,
      params: sessionParams,
      body: { type: 'object', properties: { version: versionParam, state: {} }, required: ['version', 'state'], additionalProperties: false },
      response: { 201: { type: 'object', properties: { version: { type: 'integer' } } }, ...errors },
    },
  }, async (request, reply) => {
    const b = request.body as { version: number; state: unknown };
    await get(request).snapshot(b.version, b.state);
    reply.code(201);
    return { version: b.version };
  });

  app.get('/sessions/:sessionId/snapshots', {
    schema: {
      summary: 'Snapshot versions (ascending) and the last one (0 when none): { versions, last }',
      tags,
      params: sessionParams,
      response: { 200: { type: 'object', properties: { versions: { type: 'array', items: { type: 'integer' } }, last: { type: 'integer' } } }, ...errors },
    },
  }, async (request) => {
    const s = get(request);
    const versions = await s.snapshotVersions();
    return { versions, last: versions.length === 0 ? 0 : versions[versions.length - 1] };
  });

  app.delete('/sessions/:sessionId/snapshots/:version', {
    schema: {
      summary: 'Delete one snapshot: 204 (404 RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND)',
      tags,
      security: bearer,
      params: { type: 'object', properties: { ...sessionParams.properties, version: versionParam }, required: ['sessionId', 'version'] },
      response: { 204: { type: 'null' }, ...errors },
    },
  }, async (request, reply) => {
    await get(request).clearSnapshot((request.params as { version: number }).version);
    reply.code(204).send();
  });

  app.delete('/sessions/:sessionId/snapshots', {
    schema: { summary: 'Delete every snapshot: 204', tags, security: bearer, params: sessionParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await get(request).clearSnapshots();
    reply.code(204).send();
  });
}
