// Connection hygiene over raw sockets: header, body and idle timeouts, the connection cap, node-level refusals in the
// error contract, and answers given before the body arrived (401, 413) that the client reads instead of a reset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, resolveConfig } from '../../dist/src/server/index.js';
import { startDaemon, type TestDaemon } from './helpers.js';
import { head, probeHealth, rawConnect, rawRequest, sleep, type RawConnection, type RawResponse } from './raw-http.js';

const TOKEN = 'conn-token-123';
const auth = { authorization: `Bearer ${TOKEN}` };

const expectContract = (r: RawResponse | undefined, status: number, code: string): void => {
  expect(r, `no ${status} answer`).toBeDefined();
  expect(r!.status, r!.body).toBe(status);
  expect(r!.headers['content-type']).toMatch(/^application\/json/);
  expect(r!.json?.error?.code, r!.body).toBe(code);
  expect(typeof r!.json.error.message).toBe('string');
};

/** Sends `bytes` one byte every `everyMs` while the socket is open (a slowloris). */
function trickle(conn: RawConnection, bytes: string, everyMs: number): () => void {
  let i = 0;
  const t = setInterval(() => {
    if (i >= bytes.length || conn.closedAfter !== undefined) clearInterval(t);
    else void conn.write(bytes[i++]);
  }, everyMs);
  return () => clearInterval(t);
}

describe('timeouts', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startDaemon({ token: TOKEN, headersTimeoutMs: 300, bodyTimeoutMs: 700, idleTimeoutMs: 400, lingerMs: 300 });
  });
  afterAll(async () => {
    await d.close();
  });

  it('the timeouts reach the HTTP server (defaults: headers 10 s, body 30 s, idle 72 s)', () => {
    const s = d.server.app.server;
    expect([s.headersTimeout, s.requestTimeout, s.keepAliveTimeout]).toEqual([300, 700, 400]);
    const c = resolveConfig({});
    expect([c.headersTimeoutMs, c.bodyTimeoutMs, c.idleTimeoutMs, c.lingerMs]).toEqual([10_000, 30_000, 72_000, 5_000]);
    expect(c.bodyTimeoutMs).toBeLessThanOrEqual(30_000);
    expect(DEFAULTS.bodyTimeoutMs).toBe(30_000);
  });

  it('slowloris on headers: 408 RS_ERR_REQUEST_TIMEOUT after --headers-timeout, then closed; /health answers meanwhile', async () => {
    const probe = probeHealth(d.server.port);
    await probe.ready;
    const conns = await Promise.all(Array.from({ length: 40 }, () => rawConnect(d.server.port)));
    const stops = conns.map((c) => trickle(c, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n', 50));
    const idle = await rawConnect(d.server.port); // connects and never sends a byte
    try {
      for (const c of [...conns, idle]) {
        expectContract(await c.response(1, 3000), 408, 'RS_ERR_REQUEST_TIMEOUT');
        // 300 ms, checked every 75 ms, then a linger of at most 300 ms
        expect(await c.closed(2000), 'closed').toBeLessThan(1500);
        expect(c.closedAfter).toBeGreaterThanOrEqual(250);
      }
    } finally {
      for (const s of stops) s();
    }
    const { statuses } = await probe.stop();
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.every((s) => s === 200), statuses.join()).toBe(true);
  });

  it('slowloris on a body: 408 after --body-timeout (counted from the first byte of the request), then closed', async () => {
    const c = await rawConnect(d.server.port);
    await c.write(head('POST', '/streams/slow/body', { ...auth, 'content-type': 'application/json', 'content-length': 200 }));
    const stop = trickle(c, `{"pad":"${'x'.repeat(180)}"}`, 40);
    try {
      expectContract(await c.response(1, 3000), 408, 'RS_ERR_REQUEST_TIMEOUT');
      expect(await c.closed(2000)).toBeLessThan(2000);
      expect(c.closedAfter).toBeGreaterThanOrEqual(650);
    } finally {
      stop();
    }
    expect((await fetch(`${d.url}/streams/slow/body`).then((r) => r.json()))).toEqual([]);
  });

  it('a POST refused with 401 does not keep its socket while the client trickles the body', async () => {
    const c = await rawConnect(d.server.port);
    await c.write(head('POST', '/streams/trickle/a', { 'content-type': 'application/json', 'content-length': 100_000 }));
    const stop = trickle(c, 'x'.repeat(1000), 20);
    try {
      expectContract(await c.response(1, 2000), 401, 'RS_ERR_UNAUTHORIZED');
      // closed --linger-timeout (300 ms) after the answer, long before the body timeout would end it
      expect(await c.closed(3000), 'closed').toBeLessThan(650);
      expect(c.responses).toHaveLength(1); // no second (timeout) answer
    } finally {
      stop();
    }
  });

  it('an idle keep-alive connection is closed after --idle-timeout', async () => {
    const c = await rawConnect(d.server.port);
    await c.write(head('GET', '/health'));
    expect((await c.response())?.status).toBe(200);
    const closedAfter = await c.closed(3000);
    expect(closedAfter).toBeDefined();
    expect(closedAfter!).toBeGreaterThanOrEqual(380);
  });
});

describe('answers given before the body arrived reach the client', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startDaemon({ token: TOKEN, bodyLimit: 64 * 1024 });
  });
  afterAll(async () => {
    await d.close();
  });

  it('413 to a 64 MiB body sent at full speed over a raw socket: read every time, never a reset', async () => {
    const body = Buffer.alloc(64 << 20, 0x61);
    for (let attempt = 0; attempt < 4; attempt++) {
      const c = await rawConnect(d.server.port);
      const sent = c.write(Buffer.concat([Buffer.from(head('POST', '/streams/big/a', { ...auth, 'content-type': 'application/json', 'content-length': body.length })), body]));
      const r = await c.response(1, 10_000);
      expect(c.error, `attempt ${attempt}`).toBeUndefined();
      expectContract(r, 413, 'RS_ERR_BODY_TOO_LARGE');
      expect(await sent, `attempt ${attempt}: the whole body was accepted`).toBe(true);
      c.destroy();
    }
  });

  it('413 to a chunked body that grows past the limit; 401 to a large unauthorized body: read, never a reset', async () => {
    const chunk = `${(1 << 20).toString(16)}\r\n${'a'.repeat(1 << 20)}\r\n`;
    const c = await rawConnect(d.server.port);
    const sent = c.write(head('POST', '/streams/big/b', { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }) + chunk.repeat(16) + '0\r\n\r\n');
    expectContract(await c.response(1, 10_000), 413, 'RS_ERR_BODY_TOO_LARGE');
    expect(await sent, 'the whole chunked body was accepted').toBe(true);
    expect(c.error).toBeUndefined();
    c.destroy();
    const u = await rawConnect(d.server.port);
    const sentU = u.write(Buffer.concat([Buffer.from(head('POST', '/metrics', { 'content-type': 'application/json', 'content-length': 32 << 20 })), Buffer.alloc(32 << 20, 0x61)]));
    expectContract(await u.response(1, 10_000), 401, 'RS_ERR_UNAUTHORIZED');
    expect(await sentU, 'the whole unauthorized body was accepted').toBe(true);
    expect(u.error).toBeUndefined();
    // the body was drained: the connection still serves requests
    await sleep(300);
    await u.write(head('GET', '/health'));
    expect((await u.response(2, 3000))?.status).toBe(200);
    u.destroy();
  });

  it('node-level refusals follow the error contract: 400 malformed or without Host, 404 CONNECT, 431 oversized headers', async () => {
    expectContract((await rawRequest(d.server.port, 'NOT-HTTP\r\n\r\n')).response, 400, 'RS_ERR_BAD_REQUEST');
    expectContract((await rawRequest(d.server.port, 'GET /health HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n')).response, 400, 'RS_ERR_BAD_REQUEST');
    expectContract((await rawRequest(d.server.port, 'GET /health HTTP/1.1\r\n\r\n')).response, 400, 'RS_ERR_BAD_REQUEST'); // no Host
    expect((await rawRequest(d.server.port, 'GET /health HTTP/1.0\r\n\r\n')).response?.status).toBe(200); // HTTP/1.0 needs none
    expectContract((await rawRequest(d.server.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')).response, 404, 'RS_ERR_NOT_FOUND');
    const big = await rawRequest(d.server.port, `GET /health HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expectContract(big.response, 431, 'RS_ERR_HEADERS_TOO_LARGE');
    expect(big.response!.headers.connection).toBe('close');
    const text = await fetch(`${d.url}/metrics`).then((r) => r.text());
    expect(text).toMatch(/ringstore_http_refused_total\{reason="bad_request"\} [2-9]/);
    expect(text).toMatch(/ringstore_http_refused_total\{reason="headers_too_large"\} 1/);
  });
});

describe('connection cap', () => {
  it('past --max-connections a new connection gets 503 RS_ERR_TOO_MANY_CONNECTIONS; freed slots serve again', async () => {
    const d = await startDaemon({ maxConnections: 20 });
    const held: RawConnection[] = [];
    try {
      for (let i = 0; i < 20; i++) held.push(await rawConnect(d.server.port));
      await sleep(50);
      const extra = await Promise.all(Array.from({ length: 5 }, () => rawConnect(d.server.port)));
      for (const c of extra) {
        const r = await c.response(1, 2000);
        expectContract(r, 503, 'RS_ERR_TOO_MANY_CONNECTIONS');
        expect(r!.headers['retry-after']).toBe('1');
        expect(await c.closed(2000)).toBeDefined();
      }
      // the held connections still work
      await held[0].write(head('GET', '/health'));
      expect((await held[0].response())?.status).toBe(200);
      for (const c of held.slice(10)) c.destroy();
      await sleep(100);
      const r = await fetch(`${d.url}/metrics`);
      const text = await r.text();
      expect(r.status).toBe(200);
      expect(text).toMatch(/ringstore_http_refused_total\{reason="too_many_connections"\} 5/);
      expect(text).toMatch(/ringstore_http_open_connections 1[01]/);
    } finally {
      for (const c of held) c.destroy();
      await d.close();
    }
  });
});
