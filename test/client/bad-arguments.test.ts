// Bad arguments to the client: a typed error (RS_ERR_INVALID_ARGUMENT or RS_ERR_INVALID_OPTION) before
// anything is sent, never a TypeError/URIError/RangeError from inside, a request that fails as a
// "network error", a silent substitute (NaN stored as null) or a misspelt option dropped.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingstoreClient, RemoteStreamSession } from '../../dist/src/client/index.js';

let server: http.Server;
let url: string;
const seen: string[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/sessions' ? JSON.stringify({ sessionId: 's-1', storeId: 'db/a/b', version: 0, expiresAt: 1 }) : '{"version":1}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Rejects (or throws) with `code`, and nothing reached the server. */
async function refused(call: () => Promise<unknown> | AsyncGenerator<unknown>, code: string): Promise<void> {
  const before = seen.length;
  const err = await (async () => {
    const r = call();
    if (Symbol.asyncIterator in r) for await (const _ of r as AsyncGenerator<unknown>) break;
    else await r;
  })().then(() => undefined, (e: unknown) => e);
  expect(err, 'a rejection').toMatchObject({ code });
  expect((err as Error).constructor.name).not.toMatch(/^(TypeError|RangeError|URIError)$/);
  expect(seen.slice(before)).toEqual([]);
}

describe('RingstoreClient refuses bad arguments before sending', () => {
  const client = (): RingstoreClient => new RingstoreClient({ baseUrl: url, retries: 0 });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;

  it('text a URL cannot carry: a lone surrogate in a stream name or an event id', async () => {
    const c = client();
    await refused(() => c.append('a/\ud800', { v: 1 }), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => c.readPage('\udc00'), 'RS_ERR_INVALID_ARGUMENT');
    const s = new RemoteStreamSession(c, 's-1', 'db/a/b', 1);
    await refused(() => s.versionOf('x\ud800'), 'RS_ERR_INVALID_ARGUMENT');
  });

  it('bodies JSON cannot hold: BigInt and cycles; in versioned events and snapshots also NaN and Infinity (stored as null before)', async () => {
    const c = client();
    await refused(() => c.append('a', { n: 1n } as never), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => c.append('a', [cyclic]), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => c.append('a', [{ v: 1 }, cyclic], { format: 'ndjson' }), 'RS_ERR_INVALID_ARGUMENT');
    const s = new RemoteStreamSession(c, 's-1', 'db/a/b', 1);
    await refused(() => s.append([{ type: 'T', data: { amount: Number.NaN } }]), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => s.append([{ type: 'T', data: [Infinity] }]), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => s.append([{ type: 'T', data: 1, metadata: { n: -Infinity } }]), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => s.snapshot(1, Number.NaN), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => s.snapshot(1, cyclic), 'RS_ERR_INVALID_ARGUMENT');
  });

  it('an invalid Date, a version that is not an integer in a path, an idempotency key a header cannot carry, an unknown format', async () => {
    const c = client();
    await refused(() => c.metrics.sum('cpu', { from: new Date(Number.NaN) }), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => c.admin.purge({ olderThan: new Date('nope') }), 'RS_ERR_INVALID_ARGUMENT');
    const s = new RemoteStreamSession(c, 's-1', 'db/a/b', 1);
    // "../../x" went into the path as is: DELETE /sessions/s-1/snapshots/../../x reached /sessions/x
    await refused(() => s.get('../../x' as never), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => s.clearSnapshot('../../../admin/clear' as never), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => s.get(1.5), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => c.append('a', {}, { idempotencyKey: 'a\nb' }), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => c.append('a', {}, { idempotencyKey: '😀' }), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => c.append('a', {}, { idempotencyKey: 'k'.repeat(201) }), 'RS_ERR_INVALID_ARGUMENT');
    await refused(() => c.append('a', [{}], { format: 'xml' as never }), 'RS_ERR_INVALID_OPTION');
  });

  it('a misspelt option of any call (admin.purge({ olderthan }) purged everything older than an hour)', async () => {
    const c = client();
    await refused(() => c.admin.purge({ olderthan: '2020-01-01' } as never), 'RS_ERR_INVALID_OPTION');
    await refused(() => c.readPage('a', { form: 5 } as never), 'RS_ERR_INVALID_OPTION');
    await refused(() => c.read('a', { pagesize: 5 } as never), 'RS_ERR_INVALID_OPTION');
    await refused(() => c.subscribe('a', { form: 5 } as never), 'RS_ERR_INVALID_OPTION');
    await refused(() => c.aggregate('a', { groupby: 'x' } as never), 'RS_ERR_INVALID_OPTION');
    await refused(() => c.metrics.sum('cpu', { form: 1 } as never), 'RS_ERR_INVALID_OPTION');
    await refused(() => c.metrics.window({ lable: 'cpu' } as never), 'RS_ERR_INVALID_OPTION');
    await refused(() => c.openSession('a/b', { sessionTimeout: 5 } as never), 'RS_ERR_INVALID_OPTION');
    const s = new RemoteStreamSession(c, 's-1', 'db/a/b', 1);
    await refused(() => s.read({ toVerson: 1 } as never), 'RS_ERR_INVALID_OPTION');
  });

  it('options a constructor cannot honour: a timeout Node cannot time (it fired after 1 ms), a token a header cannot carry', () => {
    expect(() => new RingstoreClient({ timeoutMs: 2 ** 31 })).toThrow(RangeError);
    for (const token of [5, '', 'a\nb', 'é😀'] as never[]) {
      expect(() => new RingstoreClient({ token }), String(token)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
    }
  });

  it('the same calls with good arguments are sent', async () => {
    const c = client();
    const before = seen.length;
    await c.append('a/é', { v: 1 }, { idempotencyKey: 'k-1' });
    await c.metrics.sum('cpu', { from: new Date(0) });
    const s = await c.openSession('a/b', { sessionTimeoutMs: 1000 });
    await s.append([{ type: 'T', data: { amount: 1 } }]);
    await s.get(1);
    expect(seen.slice(before)).toEqual([
      'POST /streams/a/%C3%A9', 'GET /metrics/sum?label=cpu&from=1970-01-01T00%3A00%3A00.000Z', 'POST /sessions', 'POST /sessions/s-1/events', 'GET /sessions/s-1/events/1',
    ]);
  });
});
