/**
 * Connection hygiene: timeouts, a cap on open connections, answers in the
 * error contract for what node refuses before fastify sees a request, and a
 * lingering close, so that a client still sending a body reads the error
 * answer instead of a reset.
 *
 * - Headers must arrive within `headersTimeoutMs`, a whole request (body
 *   included) within `bodyTimeoutMs`: 408 `RS_ERR_REQUEST_TIMEOUT`. A keep-alive
 *   connection idle for `idleTimeoutMs` is closed.
 * - Past `maxConnections` open connections, a new one gets 503
 *   `RS_ERR_TOO_MANY_CONNECTIONS` and is closed; it never reaches the parser.
 * - Malformed requests (400), oversized headers (431) and timeouts (408) are
 *   answered `{ "error": { "code", "message" } }` (node's own answers have no body).
 * - Closing a socket with unread input makes the kernel send a reset, which can
 *   destroy an answer the client has not read yet (a 413 to a large upload).
 *   So an answer given before the body arrived keeps the connection and lets
 *   node discard the rest of the body, for at most `lingerMs`; a socket closed
 *   on an error is half-closed first and read until the client closes it, for
 *   at most `lingerMs` (nginx's lingering close).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { HttpErrorCodes, type HttpErrorCode } from './errors.js';

/** Why a connection or request was refused before routing (the `reason` label of the refusal counter). */
export type RefusalReason = 'too_many_connections' | 'timeout' | 'headers_too_large' | 'bad_request';

/** The fastify server options that carry the timeouts. */
export function timeoutOptions(config: ServerConfig): {
  requestTimeout: number;
  keepAliveTimeout: number;
  http: { requireHostHeader: boolean; headersTimeout: number; connectionsCheckingInterval: number };
} {
  return {
    requestTimeout: config.bodyTimeoutMs,
    keepAliveTimeout: config.idleTimeoutMs,
    http: {
      // Checked in the app's onRequest hook instead, to answer in the error contract (node's 400 has no body).
      requireHostHeader: false,
      headersTimeout: config.headersTimeoutMs,
      // Node checks the two timeouts on this period (30 s by default, which would stretch a 10 s timeout to 40).
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
    },
  };
}

const REASON_PHRASE: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large', 503: 'Service Unavailable' };

/** A complete `Connection: close` HTTP/1.1 answer carrying the error contract. */
export function rawErrorResponse(code: HttpErrorCode, message: string, extraHeaders = ''): string {
  const status = HttpErrorCodes[code].status;
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${REASON_PHRASE[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extraHeaders}\r\n${body}`;
}

/**
 * Sends `answer` (if any) and half-closes `socket` after it, keeps reading and
 * discarding what the client still sends, and destroys it when the client
 * closes its side or after `lingerMs`.
 */
export function lingerClose(socket: Socket, lingerMs: number, answer?: string): void {
  if (socket.destroyed) return;
  socket.on('error', () => socket.destroy());
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  if (answer === undefined) socket.end();
  else socket.end(answer);
  // A socket the HTTP parser consumes is read already; a raw one (refused) is drained here.
  if (socket.readableFlowing !== true) socket.resume();
}

/**
 * Caps the open connections of `server`: past `max`, a new connection is
 * answered 503 and closed before node's HTTP layer sees it. Returns the count
 * of open (accepted) connections.
 */
export function capConnections(server: Server, max: number, lingerMs: number, onRefused: () => void): () => number {
  // Node's HTTP connection listener (and any other) runs only for accepted connections.
  const accept = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  let open = 0;
  const refusal = rawErrorResponse('RS_ERR_TOO_MANY_CONNECTIONS', `the daemon holds its maximum of ${max} connections (--max-connections); retry later`, 'Retry-After: 1\r\n');
  server.on('connection', (socket: Socket) => {
    if (open >= max) {
      onRefused();
      lingerClose(socket, Math.min(lingerMs, 1000), refusal);
      return;
    }
    open++;
    socket.once('close', () => open--);
    for (const listener of accept) listener.call(server, socket);
  });
  return () => open;
}

/** CONNECT (a proxy's method) is answered 404 in the contract; without a listener node closes the socket without a word. */
export function refuseConnect(server: Server, lingerMs: number): void {
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    lingerClose(socket, lingerMs, rawErrorResponse('RS_ERR_NOT_FOUND', `no route CONNECT ${String(req.url).slice(0, 200)}`));
  });
}

/** Sockets whose current request was answered before its body arrived: no second (timeout) answer on them. */
const answeredEarly = new WeakSet<Socket>();

/** The request still has body bytes on the wire. */
function bodyPending(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * For an `onSend` hook: when the request is answered (an error: 401, 413,
 * 415...) before its body arrived, keeps the connection so that node reads
 * and discards the rest of the body after the answer (fastify asks to close
 * it, which would reset a client still sending), and closes it if the body
 * has not ended `lingerMs` after the answer.
 */
export function drainAfterEarlyAnswer(request: FastifyRequest, reply: FastifyReply, lingerMs: number, closing: boolean): void {
  const req = request.raw;
  if (!bodyPending(req)) return;
  const socket = req.socket;
  if (!closing) reply.removeHeader('connection');
  answeredEarly.add(socket);
  req.once('end', () => answeredEarly.delete(socket));
  reply.raw.once('finish', () => {
    if (req.complete) return;
    const timer = setTimeout(() => {
      if (!req.complete) socket.destroy();
    }, lingerMs);
    req.once('end', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
}

interface ClientError extends Error {
  code?: string;
}

/** What node's parser or timers refused, as an answer of the contract (undefined: nothing to answer). */
function classify(err: ClientError): { code: HttpErrorCode; reason: RefusalReason; message: string } | undefined {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'RS_ERR_REQUEST_TIMEOUT', reason: 'timeout', message: 'the request did not arrive in time (--headers-timeout for the headers, --body-timeout for the whole request)' };
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'RS_ERR_HEADERS_TOO_LARGE', reason: 'headers_too_large', message: 'the request line and headers exceed 16 KiB' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 'RS_ERR_BODY_TOO_LARGE', reason: 'bad_request', message: 'chunk extensions are too large' };
    default:
      return { code: 'RS_ERR_BAD_REQUEST', reason: 'bad_request', message: `malformed HTTP request${typeof err.code === 'string' && err.code.startsWith('HPE_') ? ` (${err.code})` : ''}` };
  }
}

/**
 * fastify's `clientErrorHandler`: answers node-level refusals in the error
 * contract (unless an answer is already on the wire) and closes with a linger.
 */
export function clientErrorHandler(log: Logger, lingerMs: number, onRefused: (reason: RefusalReason) => void): (err: ClientError, socket: Socket) => void {
  const handled = new WeakSet<Socket>();
  return (err, socket) => {
    // The parser reports again on every chunk that follows an error: answer once.
    if (handled.has(socket) || socket.destroyed) return;
    handled.add(socket);
    const c = classify(err);
    if (c === undefined) {
      socket.destroy();
      return;
    }
    onRefused(c.reason);
    log.debug({ code: c.code, cause: err.code }, c.message);
    // Node's rule: write only when no answer of this socket has begun (`_httpMessage` is node's in-flight response).
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    const answer = socket.writable && !answeredEarly.has(socket) && !(inFlight?.headersSent ?? false);
    lingerClose(socket, lingerMs, answer ? rawErrorResponse(c.code, c.message) : undefined);
  };
}
