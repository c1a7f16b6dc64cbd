// An `event: error` of a subscription becomes the typed error of its code, with that code's status (not always 503).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RingstoreClient, RingstoreHttpError } from '../../dist/src/client/index.js';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

describe('RingstoreClient.subscribe: the daemon ends it with an error message', () => {
  it('RS_ERR_INTERNAL is status 500, as docs/daemon.md gives it', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('event: error\ndata: {"error":{"code":"RS_ERR_INTERNAL","message":"subscription ended"}}\n\n');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = new RingstoreClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, retries: 0 });
    let err: unknown;
    try {
      for await (const _ of c.subscribe('a')) { /* none */ }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RingstoreHttpError);
    expect(err).toMatchObject({ code: 'RS_ERR_INTERNAL', status: 500 });
  });
});
