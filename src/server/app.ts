/**
 * The app factory: one fastify instance with JSON schemas on every route, pino
 * logs carrying request ids, the error contract, auth, metrics, the OpenAPI
 * document and the route modules. {@link startServer} also listens.
 */
import { randomBytes } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import { accessHook, routeAccess, type AccessConfig } from './auth.js';
import { registerBodyParsers } from './body-parsers.js';
import { bodylessHook } from './bodyless.js';
import { isLoopback, resolveConfig, type ServerConfig } from './config.js';
import { capConnections, clientErrorHandler, drainAfterEarlyAnswer, refuseConnect, timeoutOptions } from './connections.js';
import type { ServerContext } from './context.js';
import { dashboard } from './dashboard/index.js';
import { HttpError, toErrorResponse } from './errors.js';
import { IngestPool } from './ingest/ingest-pool.js';
import { createMetrics } from './metrics.js';
import { compileCoercion } from './params.js';
import { requestLoggerFactory } from './request-logger.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { metricRoutes } from './routes/metrics.js';
import { sessionRoutes } from './routes/sessions.js';
import { streamRoutes } from './routes/streams.js';
import { openStartupGate, type StartupGate } from './startup-gate.js';
import { openStores, type Stores } from './stores.js';
import { StreamFeeds } from './stream-feed.js';

/** Options of {@link buildApp} besides the configuration. */
export interface BuildOptions {
  /** pino logger (default: JSON lines on stdout at `config.logLevel`). */
  logger?: Logger;
}

/** A built (not yet listening) daemon. */
export interface RingstoreApp {
  readonly app: FastifyInstance;
  readonly context: ServerContext;
  /** Stops accepting, ends subscriptions, waits for in-flight requests, closes the stores. Idempotent. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** A route's hook list (absent, one hook or several) with `hook` added first or last. */
function withHook<H>(existing: H | H[] | undefined, hook: H, at: 'first' | 'last'): H[] {
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  return at === 'first' ? [hook, ...list] : [...list, hook];
}

/** Builds the daemon (stores, fastify, routes) without listening. */
export async function buildApp(config: ServerConfig = resolveConfig(), options: BuildOptions = {}): Promise<RingstoreApp> {
  const log = options.logger ?? defaultLogger(config);
  const stores = await openStores(config, log);
  let ingest: IngestPool | undefined;
  try {
    ingest = config.ingestThreads > 0 ? await IngestPool.open(stores, config.ingestThreads, config.maxBatch, log) : undefined;
    return await buildOnStores(config, log, stores, ingest);
  } catch (err) {
    await ingest?.close();
    await stores.close();
    throw err;
  }
}

function defaultLogger(config: ServerConfig): Logger {
  return pino({ level: config.logLevel, base: { name: 'ringstore' } });
}

async function buildOnStores(config: ServerConfig, log: Logger, stores: Stores, ingest: IngestPool | undefined): Promise<RingstoreApp> {
  const metrics = createMetrics({ streams: stores.streams as never, metrics: stores.metrics as never });
  const feeds = new StreamFeeds(stores.streams, config.subscribePollMs, { read: () => metrics.sseReads.inc() });
  const context: ServerContext = { config, stores, metrics, feeds, log, longLived: new Set(), closing: false, ...(ingest !== undefined ? { ingest } : {}) };

  // Latency sample and access line of one response (route hooks, the 404 handler, pre-routing errors).
  const observe = (request: FastifyRequest, reply: FastifyReply, route: string): void => {
    metrics.latency.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if ((request.log as Logger).isLevelEnabled('info')) {
      request.log.info({ method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request');
    }
  };
  const idBase = randomBytes(4).toString('hex');
  let idSeq = 0;
  const app: FastifyInstance = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    // One access line per request, written by `observe` above from the response hooks (reqId is the default label).
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: requestLoggerFactory,
    bodyLimit: config.bodyLimit,
    // An event id may be 256 characters once URI-encoded (GET /sessions/:id/ids/:eventId); fastify's default
    // of 100 answered 400 "exceeding the max param length" to ids the stream had taken.
    routerOptions: { maxParamLength: 1024 },
    ...timeoutOptions(config),
    clientErrorHandler: clientErrorHandler(log, config.lingerMs, (reason) => metrics.refused.inc({ reason })),
    return503OnClosing: false,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : `${idBase}-${(++idSeq).toString(36)}`;
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, allowUnionTypes: true } },
    frameworkErrors: (err, request, reply) => {
      // Errors before routing (a bad URL, say) run no hooks: count them as unmatched here.
      reply.raw.once('finish', () => observe(request as FastifyRequest, reply as unknown as FastifyReply, 'unmatched'));
      const r = toErrorResponse(err);
      void (reply as unknown as { code(n: number): { header(k: string, v: string): { send(b: unknown): void } } }).code(r.status).header('x-request-id', request.id).send(r.body);
    },
  });

  const openConnections = capConnections(app.server, config.maxConnections, config.lingerMs, () => metrics.refused.inc({ reason: 'too_many_connections' }));
  metrics.countConnections(openConnections);
  refuseConnect(app.server, config.lingerMs);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'ringstore daemon', version: '0.1.0', description: 'HTTP API of `ringstore serve` (see docs/daemon.md).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  // Hooks in callback style: an async hook costs a promise and a microtask per request (profiled on the POST path).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (context.closing) {
      reply.header('connection', 'close');
      done(new HttpError('RS_ERR_CLOSED', 'the daemon is shutting down'));
      return;
    }
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      done(new HttpError('RS_ERR_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header'));
      return;
    }
    done();
  });
  // Per-route hooks, bound at registration: a request's hooks need no `request.routeOptions`
  // (a getter that builds an object per call) and no schema walk.
  // Registered before any route (routes added earlier would get neither hook).
  app.addHook('onRoute', (route) => {
    const auth = accessHook(routeAccess(route.method, route.url, route.config as AccessConfig | undefined), config);
    if (auth !== undefined) route.onRequest = withHook(route.onRequest, auth, 'first');
    const coerce = compileCoercion(route.schema);
    if (coerce !== undefined) {
      // First, as the global hook it replaces ran: a route's own preValidation sees typed values.
      route.preValidation = withHook(route.preValidation, (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
        coerce(request);
        done();
      }, 'first');
    }
    const bodyless = bodylessHook(route.method, route.url, route.schema as { body?: unknown } | undefined);
    if (bodyless !== undefined) route.preValidation = withHook(route.preValidation, bodyless, 'last');
    const url = route.url;
    route.onResponse = withHook(route.onResponse, (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      observe(request, reply, url);
      done();
    }, 'last');
  });
  // A response finished during shutdown closes its connection (node only closes the connections idle when close() began).
  // An answer given before the body arrived lets the client read it (connections.ts).
  app.addHook('onSend', (request, reply, payload, done) => {
    if (context.closing) reply.header('connection', 'close');
    drainAfterEarlyAnswer(request, reply, config.lingerMs, context.closing);
    done(null, payload);
  });

  // JSON and NDJSON in UTF-8 only: anything else is 415.
  registerBodyParsers(app, { pooled: ingest !== undefined });

  app.setErrorHandler((err, request, reply) => {
    const r = toErrorResponse(err);
    if (r.internal) request.log.error({ err }, 'request failed');
    else request.log.debug({ code: r.body.error.code }, r.body.error.message);
    reply.code(r.status).send(r.body);
  });
  app.setNotFoundHandler((request, reply) => {
    // Unmatched requests have no route hooks (and a global onResponse hook would cost every request).
    reply.raw.once('finish', () => observe(request, reply, 'unmatched'));
    reply.code(404).send({ error: { code: 'RS_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0].slice(0, 200)}` } });
  });

  await app.register(async (scope) => {
    healthRoutes(scope, context);
    streamRoutes(scope, context);
    metricRoutes(scope, context);
    adminRoutes(scope, context);
    sessionRoutes(scope, context);
    dashboard(scope, context);
  });
  app.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());

  // While closing, idle keep-alive connections are closed every 50 ms, not only once when
  // close() starts: an SSE stream ended by the loop above, or any response finishing after
  // that first pass without `Connection: close`, would otherwise hold the server open until
  // its keep-alive timeout (the force-close at --shutdown-timeout, seen on a loaded machine).
  let sweep: ReturnType<typeof setInterval> | undefined;
  app.addHook('preClose', async () => {
    context.closing = true;
    for (const end of [...context.longLived]) end();
    feeds.close();
    sweep ??= setInterval(() => app.server.closeIdleConnections(), 50);
    sweep.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await ingest?.close();
    await stores.close();
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      context.closing = true;
      // Bounded like the SIGTERM path (shutdown.ts): a client that does not read its answer would hold close() for ever.
      const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
      force.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(force);
        await ingest?.close();
        await stores.close();
      }
    })();
    return closing;
  };
  return { app, context, close };
}

/** A listening daemon. */
export interface RunningServer extends RingstoreApp {
  /** Base URL, e.g. `http://127.0.0.1:7070`. */
  readonly url: string;
  /** The bound port (useful with port 0). */
  readonly port: number;
}

/**
 * Builds the daemon and listens on `config.host:config.port`. With a data
 * directory the port opens first, on a gate that answers `/health` 200 and
 * everything else 503 `RS_ERR_NOT_READY` while the durable stores restore
 * (startup-gate.ts); the daemon then listens on the same port.
 */
export async function startServer(config: ServerConfig = resolveConfig(), options: BuildOptions = {}): Promise<RunningServer> {
  const log = options.logger ?? defaultLogger(config);
  let gate: StartupGate | undefined;
  if (config.dataDir !== undefined || config.nats !== undefined) {
    gate = await openStartupGate(config);
    log.info({ port: gate.port, dataDir: config.dataDir ?? null, fsync: config.fsync, nats: config.nats ?? null }, 'restoring the durable stores or catching up with the JetStream logs (GET /ready answers 503 until done)');
  }
  let built: RingstoreApp;
  try {
    built = await buildApp(config, { ...options, logger: log });
  } catch (err) {
    await gate?.close();
    throw err;
  }
  try {
    await gate?.close();
    await built.app.listen({ host: config.host, port: gate?.port ?? config.port });
  } catch (err) {
    await built.close();
    throw err;
  }
  const addr = built.app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  if (!isLoopback(config.host) && config.token === undefined) {
    built.context.log.warn({ host: config.host }, 'listening beyond loopback without --token: anyone who can reach this port can write and clear the stores');
  } else if (!isLoopback(config.host) && config.readToken === undefined) {
    built.context.log.warn({ host: config.host }, 'listening beyond loopback without --read-token: anyone who can reach this port can read every event payload');
  }
  built.context.log.info({ url, partitions: config.partitions, streamsCapacity: built.context.stores.streams.capacity, dataDir: config.dataDir ?? null, fsync: config.dataDir === undefined ? null : config.fsync, auth: config.token !== undefined, readAuth: config.readToken !== undefined }, 'listening');
  return { ...built, url, port };
}
