// Client errors are not server errors: 4xx answers (a held stream's 423 included) and refusals before routing log
// at debug or info, never at warn or error.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RingstoreClient } from '../../dist/src/client/index.js';
import { resolveConfig, startServer } from '../../dist/src/server/index.js';
import { json, raw } from './helpers.js';
import { rawRequest } from './raw-http.js';

describe('log levels of client errors', () => {
  it('423, 400, 401, 404, 413, 415 and node-level 400/431 log below warn', async () => {
    const lines: { level: number; msg?: string; statusCode?: number }[] = [];
    const stream = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l)); cb(); } });
    const logger = pino({ level: 'trace', base: { name: 'ringstore' } }, stream);
    const server = await startServer(resolveConfig({ port: 0, partitions: 1, capacity: 1024, token: 'log-token-123', bodyLimit: 2048 }), { logger });
    const auth = { authorization: 'Bearer log-token-123' };
    try {
      const client = new RingstoreClient({ baseUrl: server.url, retries: 0, token: 'log-token-123' });
      const holder = await client.openSession('Logs/1');
      const held = await raw(`${server.url}/sessions`, json({ stream: 'Logs/1', openTimeoutMs: 50 }, auth));
      expect(held.status).toBe(423);
      await holder.close();
      expect((await raw(`${server.url}/streams/a`, json({ valor: 'x' }, auth))).status).toBe(400);
      expect((await raw(`${server.url}/streams/a`, json({ valor: 1 }))).status).toBe(401);
      expect((await raw(`${server.url}/nope`)).status).toBe(404);
      expect((await raw(`${server.url}/streams/a`, json({ pad: 'x'.repeat(4096) }, auth))).status).toBe(413);
      expect((await raw(`${server.url}/streams/a`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'x' })).status).toBe(415);
      expect((await rawRequest(server.port, 'BROKEN\r\n\r\n')).response?.status).toBe(400);
      expect((await rawRequest(server.port, `GET / HTTP/1.1\r\nX: ${'y'.repeat(20_000)}\r\n\r\n`)).response?.status).toBe(431);
      await new Promise((r) => setImmediate(r));
    } finally {
      await server.close();
    }
    const loud = lines.filter((l) => l.level >= 40);
    expect(loud, JSON.stringify(loud)).toEqual([]);
    // and they were logged (one access line per answered request, at info)
    const statuses = lines.filter((l) => l.msg === 'request').map((l) => l.statusCode);
    expect(statuses).toEqual(expect.arrayContaining([423, 400, 401, 404, 413, 415]));
  });
});
