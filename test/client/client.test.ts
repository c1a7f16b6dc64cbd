// RingstoreClient against scripted servers: retries only for idempotent operations, timeouts, typed errors.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NetworkError, RingstoreClient, RingstoreHttpError, VersionConflictError, errorFromResponse, streamPath } from '../../dist/src/client/index.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** A server answering with `handler`; `calls` counts requests per "METHOD path". */
async function scripted(handler: Handler): Promise<{ url: string; calls: Map<string, number> }> {
  const calls = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    req.resume();
    req.on('end', () => handler(req, res, n));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

const send = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'r-1' });
  res.end(JSON.stringify(body));
};
const unavailable = (res: http.ServerResponse): void => send(res, 503, { error: { code: 'RS_ERR_CLOSED', message: 'shutting down' } });

describe('RingstoreClient retries', () => {
  it('retries reads on 503 and on a dropped connection, with backoff', async () => {
    const s = await scripted((req, res, n) => {
      if (n === 1) return unavailable(res);
      if (n === 2) return req.socket.destroy();
      send(res, 200, []);
    });
    const c = new RingstoreClient({ baseUrl: s.url, retries: 3, retryBaseMs: 1 });
    expect((await c.readPage('a/b')).events).toEqual([]);
    expect(s.calls.get('GET /streams/a/b')).toBe(3);
  });

  it('gives up after `retries` and throws the typed error', async () => {
    const s = await scripted((_req, res) => unavailable(res));
    const c = new RingstoreClient({ baseUrl: s.url, retries: 2, retryBaseMs: 1 });
    const err = await c.health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingstoreHttpError);
    expect(err).toMatchObject({ status: 503, code: 'RS_ERR_CLOSED', requestId: 'r-1' });
    expect(s.calls.get('GET /health')).toBe(3);
  });

  it('does not retry an append without idempotency ids, nor POST /metrics', async () => {
    const s = await scripted((_req, res) => unavailable(res));
    const c = new RingstoreClient({ baseUrl: s.url, retries: 3, retryBaseMs: 1 });
    await expect(c.append('s', { valor: 1 })).rejects.toMatchObject({ status: 503 });
    await expect(c.append('s', [{ id: 'a' }, { valor: 1 }])).rejects.toMatchObject({ status: 503 });
    await expect(c.metrics.append({ label: 'a', value: 1 })).rejects.toMatchObject({ status: 503 });
    await expect(c.admin.purge({ olderThanMinutes: 5 })).rejects.toMatchObject({ status: 503 });
    expect(s.calls.get('POST /streams/s')).toBe(2);
    expect(s.calls.get('POST /metrics')).toBe(1);
    expect(s.calls.get('POST /admin/purge?olderThanMinutes=5')).toBe(1);
  });

  it('retries an append that carries an idempotency key or event ids', async () => {
    const s = await scripted((req, res, n) => (n === 1 ? unavailable(res) : send(res, 202, { id: String(req.headers['idempotency-key'] ?? 'e'), partition: 0, position: 1, version: 1, duplicate: n > 1 })));
    const c = new RingstoreClient({ baseUrl: s.url, retries: 3, retryBaseMs: 1 });
    expect(await c.append('s', { valor: 1 }, { idempotencyKey: 'k1' })).toMatchObject({ id: 'k1', duplicate: true });
    expect(await c.append('t', { id: 'e', valor: 1 })).toMatchObject({ id: 'e' });
    expect(s.calls.get('POST /streams/s')).toBe(2);
    expect(s.calls.get('POST /streams/t')).toBe(2);
  });

  it('never retries a 4xx', async () => {
    const s = await scripted((_req, res) => send(res, 409, { error: { code: 'RS_ERR_CONFLICT', message: 'no', expected: 1, actual: 2 } }));
    const c = new RingstoreClient({ baseUrl: s.url, retries: 3, retryBaseMs: 1 });
    const err = await c.append('s', { id: 'x' }, { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(err).toMatchObject({ expected: 1, actual: 2 });
    expect(s.calls.get('POST /streams/s')).toBe(1);
  });

  it('times out with RS_ERR_TIMEOUT; a refused connection is RS_ERR_NETWORK', async () => {
    const s = await scripted(() => undefined); // never answers
    const c = new RingstoreClient({ baseUrl: s.url, retries: 0, timeoutMs: 100 });
    const err = await c.health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('RS_ERR_TIMEOUT');
    const refused = new RingstoreClient({ baseUrl: 'http://127.0.0.1:1', retries: 1, retryBaseMs: 1 });
    expect(await refused.health().catch((e: unknown) => (e as NetworkError).code)).toBe('RS_ERR_NETWORK');
  });

  it('validates its options and encodes stream names per segment', () => {
    expect(() => new RingstoreClient({ baseUrl: 'not a url' })).toThrow(TypeError);
    expect(() => new RingstoreClient({ baseUrl: 'ftp://x' })).toThrow(TypeError);
    expect(() => new RingstoreClient({ retries: -1 })).toThrow(RangeError);
    expect(() => new RingstoreClient({ timeoutMs: 0 })).toThrow(RangeError);
    expect(streamPath('orders/eu/a b?#')).toBe('orders/eu/a%20b%3F%23');
    expect(() => streamPath('')).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    // A "." or ".." segment would be resolved away by the URL (append('../admin/clear') posted to /admin/clear).
    for (const bad of ['..', '.', '../admin/clear', 'a/../../admin/clear', 'a/./b', 'a/..', 'a//b', '/a', 'a/']) {
      expect(() => streamPath(bad), bad).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    }
    expect(streamPath('a/.../b')).toBe('a/.../b');
    expect(streamPath('a/.b/..c')).toBe('a/.b/..c');
    expect(errorFromResponse(502, '<html>', undefined)).toMatchObject({ code: 'RS_ERR_INTERNAL', status: 502 });
  });

  it('subscribe reconnects after a dropped stream, resuming with Last-Event-ID', async () => {
    const seenLastIds: (string | undefined)[] = [];
    const s = await scripted((req, res) => {
      seenLastIds.push(req.url);
      const n = seenLastIds.length;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const v = n === 1 ? 1 : 2;
      res.write(`: hello\n\nid: ${v}\nevent: event\ndata: {"id":"e${v}","version":${v},"timestamp":"x"}\n\n`);
      if (n === 1) res.end(); // drop after one event
    });
    const c = new RingstoreClient({ baseUrl: s.url, retries: 3, retryBaseMs: 1 });
    const ac = new AbortController();
    const got: number[] = [];
    for await (const e of c.subscribe('a', { signal: ac.signal })) {
      got.push(e.version);
      if (got.length === 2) ac.abort();
    }
    expect(got).toEqual([1, 2]);
    expect(seenLastIds).toEqual(['/streams/a/subscribe', '/streams/a/subscribe?from=2']);
  });
});
