// RingstoreClient when the answer breaks off after its headers: the typed NetworkError, and a retry when idempotent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NetworkError, RingstoreClient } from '../../dist/src/client/index.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

async function scripted(handler: Handler): Promise<{ url: string; calls: () => number }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res, ++n));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => n };
}

/** Headers and half a body, then nothing more (the socket stays open). */
const stall = (res: http.ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
  res.write('[{"id":"e1"');
};
/** Headers and half a body, then the connection is reset. */
const cut = (res: http.ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
  res.write('[{"id":"e1"', () => res.socket?.destroy());
};

describe('RingstoreClient: an answer that breaks off in its body', () => {
  it('a body that stalls past timeoutMs is a NetworkError RS_ERR_TIMEOUT', async () => {
    const s = await scripted((_req, res) => stall(res));
    const c = new RingstoreClient({ baseUrl: s.url, retries: 0, timeoutMs: 200 });
    const err = await c.readPage('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('RS_ERR_TIMEOUT');
  });

  it('a body cut by a reset is a NetworkError RS_ERR_NETWORK', async () => {
    const s = await scripted((_req, res) => cut(res));
    const c = new RingstoreClient({ baseUrl: s.url, retries: 0 });
    const err = await c.readPage('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('RS_ERR_NETWORK');
  });

  it('an idempotent read whose body was cut is retried', async () => {
    const s = await scripted((_req, res, n) => {
      if (n === 1) return cut(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    });
    const c = new RingstoreClient({ baseUrl: s.url, retries: 2, retryBaseMs: 1 });
    expect((await c.readPage('a')).events).toEqual([]);
    expect(s.calls()).toBe(2);
  });
});
