/**
 * SSE subscription to a ring-store stream: `GET /streams/{*stream}/subscribe?from=`.
 *
 * A subscription reads only its stream's partition, and only after that
 * partition committed something: it waits on the partition's commit counter
 * (`store.waitForCommit`, one shared wait per partition, however many
 * subscribers), so an idle subscription costs nothing. Reads are at least
 * `--subscribe-poll` ms apart (10 by default; at once again after a full
 * page), which bounds the cost of a busy partition. Each event is one SSE message with
 * `id: <version>`, `event: event` and the read item as `data`; a client
 * reconnecting with `Last-Event-ID` resumes after it. A comment line is sent
 * every 15 s to keep proxies from timing the connection out. Events evicted
 * before the subscriber reads them are skipped (the next message has a
 * version gap): the ring keeps the newest events only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { badRequest } from '../errors.js';

const PAGE = 1000;
const HEARTBEAT_MS = 15_000;

/** Hijacks the reply and streams the stream's events from `from` until the client or the server closes. */
export async function subscribe(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, stream: string, from: number | undefined): Promise<void> {
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
  let wake: (() => void) | undefined;
  const end = (): void => {
    if (!open) return;
    open = false;
    wake?.();
  };
  ctx.longLived.add(end);
  ctx.metrics.subscriptions.inc();
  request.raw.on('close', end);
  res.on('close', end);
  res.on('error', end);
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => { wake = undefined; resolve(); }, ms);
      wake = () => { clearTimeout(t); wake = undefined; resolve(); };
    });
  const store = ctx.stores.streams;
  const partition = store.partitionOf(stream);
  /** Until the partition commits after `since`, the client leaves, or `ms` pass. */
  const nextCommit = (since: number, ms: number): Promise<void> =>
    new Promise((resolve) => {
      wake = () => { wake = undefined; resolve(); };
      void store.waitForCommit(partition, since, ms).then(() => wake?.(), () => wake?.());
    });
  let lastWrite = Date.now();
  try {
    while (open) {
      const since = store.commitCount(partition);
      const readAt = Date.now();
      const events = await store.snapshot({ keys: [stream], fromVersion: next, limit: PAGE, partitions: [partition] });
      events.sort((a, b) => a.version - b.version);
      let chunk = '';
      for (const e of events) {
        const item = { ...e.payload.d, id: e.id, version: e.version };
        chunk += `id: ${e.version}\nevent: event\ndata: ${JSON.stringify(item)}\n\n`;
        next = e.version + 1;
      }
      if (chunk === '' && Date.now() - lastWrite > HEARTBEAT_MS) chunk = ': ping\n\n';
      if (chunk !== '' && open) {
        lastWrite = Date.now();
        if (!res.write(chunk)) await new Promise<void>((resolve) => { res.once('drain', resolve); wake = resolve; });
      }
      if (events.length < PAGE && open) {
        await nextCommit(since, Math.max(1, HEARTBEAT_MS - (Date.now() - lastWrite)));
        const gap = ctx.config.subscribePollMs - (Date.now() - readAt);
        if (gap > 0 && open) await sleep(gap);
      }
    }
  } catch (err) {
    // The store closed under us (shutdown) or failed: tell the client and end.
    if (open) res.write(`event: error\ndata: ${JSON.stringify({ error: { code: (err as { code?: string }).code ?? 'RS_ERR_INTERNAL', message: 'subscription ended' } })}\n\n`);
  } finally {
    ctx.longLived.delete(end);
    ctx.metrics.subscriptions.dec();
    res.end();
  }
}
