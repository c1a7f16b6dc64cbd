/**
 * SSE subscription to a ring-store stream: `GET /streams/{*stream}/subscribe?from=`.
 *
 * The subscription joins its partition's feed (stream-feed.ts): one follower
 * of the partition's commits for every subscriber, which reads each
 * subscribed stream once per commit (at most every `--subscribe-poll` ms) and
 * hands the events to its subscribers; an idle subscription costs nothing.
 * Each event is one SSE message with `id: <version>`, `event: event` and the
 * read item as `data`; a client reconnecting with `Last-Event-ID` resumes
 * after it. A comment line is sent after 15 s without a message, to keep
 * proxies from timing the connection out. A client that does not read is
 * paused until its socket drains, then resumes from its last version. Events
 * evicted before a subscriber got them are skipped (the next message has a
 * version gap): the ring keeps the newest events only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoredEvent } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import type { StreamRecord } from '../stores.js';

const HEARTBEAT_MS = 15_000;
/** How long an ended subscription may take to flush before its socket is destroyed. */
const END_GRACE_MS = 1000;

/** Hijacks the reply and streams the stream's events from `from` until the client or the server closes. */
export function subscribe(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, stream: string, from: number | undefined): void {
  let next = from === undefined || from < 1 ? 1 : from;
  const last = request.headers['last-event-id'];
  if (last !== undefined) {
    if (typeof last !== 'string' || !/^\d{1,15}$/.test(last)) throw badRequest('Last-Event-ID must be a version number');
    next = Math.max(next, Number(last) + 1);
  }
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-request-id': request.id,
    'x-accel-buffering': 'no',
  });
  res.write(`: subscribed to ${JSON.stringify(stream)} from version ${next}\nretry: 1000\n\n`);
  let open = true;
  let lastWrite = Date.now();
  let feed: { unsubscribe: () => void; wake: () => void } | undefined;
  const end = (): void => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    feed?.unsubscribe();
    ctx.longLived.delete(end);
    ctx.metrics.subscriptions.dec();
    res.end();
    // A client that stopped reading (or left without closing) would hold the socket, and shutdown, for ever.
    if (!res.writableFinished) setTimeout(() => res.destroy(), END_GRACE_MS).unref();
  };
  const write = (chunk: string): void => {
    lastWrite = Date.now();
    if (res.write(chunk)) return;
    // A slow client: read nothing more for it until its socket drains (what it is owed stays in the ring).
    sub.ready = false;
    ctx.metrics.slowSubscribers.inc();
    res.once('drain', () => {
      sub.ready = true;
      feed?.wake();
    });
  };
  const sub = {
    stream,
    get next(): number {
      return next;
    },
    ready: true,
    take(events: readonly StoredEvent<StreamRecord>[]): void {
      if (!open) return;
      let chunk = '';
      for (const e of events) {
        if (e.version < next) continue;
        chunk += `id: ${e.version}\nevent: event\ndata: ${JSON.stringify({ ...e.payload.d, id: e.id, version: e.version })}\n\n`;
        next = e.version + 1;
      }
      if (chunk !== '') write(chunk);
    },
    fail(err: unknown): void {
      // The store closed under the feed (shutdown) or failed: tell the client and end.
      if (!open) return;
      res.write(`event: error\ndata: ${JSON.stringify({ error: { code: (err as { code?: string }).code ?? 'RS_ERR_INTERNAL', message: 'subscription ended' } })}\n\n`);
      end();
    },
  };
  // A comment line when nothing was sent for HEARTBEAT_MS keeps proxies from timing the connection out.
  const heartbeat = setInterval(() => {
    if (open && sub.ready && Date.now() - lastWrite >= HEARTBEAT_MS) write(': ping\n\n');
  }, HEARTBEAT_MS / 3);
  heartbeat.unref();
  ctx.longLived.add(end);
  ctx.metrics.subscriptions.inc();
  request.raw.on('close', end);
  res.on('close', end);
  res.on('error', end);
  feed = ctx.feeds.subscribe(sub);
}
