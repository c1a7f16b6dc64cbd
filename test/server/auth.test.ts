// Bearer-token auth: writes and admin need the token (401 missing, 403 wrong); reads stay open unless a read
// token is set, and then need it (or the write token).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, RingstoreClient } from '../../dist/src/client/index.js';
import { resolveConfig } from '../../dist/src/server/index.js';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';

const TOKEN = 's3cret-token-42';
let d: TestDaemon;
beforeAll(async () => {
  d = await startDaemon({ token: TOKEN });
});
afterAll(async () => {
  await d.close();
});

describe('auth on', () => {
  const writes: [string, string, RequestInit][] = [
    ['POST', '/streams/a/b', json({ valor: 1 })],
    ['POST', '/metrics', json({ label: 'cpu', value: 1 })],
    ['POST', '/admin/clear', { method: 'POST' }],
    ['POST', '/admin/reset', { method: 'POST' }],
    ['POST', '/admin/purge', { method: 'POST' }],
    ['POST', '/sessions', json({ stream: 'A/1' })],
    ['DELETE', '/sessions/x', { method: 'DELETE' }],
    ['POST', '/auth/check', { method: 'POST' }],
  ];
  for (const [method, path, init] of writes) {
    it(`${method} ${path}: 401 without a token, 403 with a wrong one, nothing stored`, async () => {
      const none = await raw(`${d.url}${path}`, init);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('RS_ERR_UNAUTHORIZED');
      const basic = await raw(`${d.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: 'Basic abc' } });
      expect(basic.status).toBe(401);
      const wrong = await raw(`${d.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: 'Bearer nope-nope-nope' } });
      expect(wrong.status).toBe(403);
      expect(wrong.body.error.code).toBe('RS_ERR_FORBIDDEN');
    });
  }

  it('nothing was stored by the refused writes', async () => {
    expect((await d.client.readPage('a/b')).events).toEqual([]);
    expect((await d.client.metrics.aggregate()).count).toBe(0);
  });

  it('the client with the token writes; reads need no token', async () => {
    const r = await d.client.append('a/c', { valor: 2 });
    expect(r.version).toBe(1);
    const anonymous = new RingstoreClient({ baseUrl: d.url, retries: 0 });
    expect((await anonymous.readPage('a/c')).events).toHaveLength(1);
    expect(await anonymous.health()).toBe('OK');
    expect(await anonymous.prometheus()).toContain('ringstore_');
    const err = await anonymous.append('a/c', { valor: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ status: 401, code: 'RS_ERR_UNAUTHORIZED' });
    const wrong = new RingstoreClient({ baseUrl: d.url, retries: 0, token: 'wrong-token-123' });
    expect(await wrong.admin.clear().catch((e: unknown) => e)).toMatchObject({ status: 403, code: 'RS_ERR_FORBIDDEN' });
    expect((await d.client.admin.clear()).cleared).toBe(true);
  });

  it("the dashboard's page, files and figures need no token; /auth/check accepts the right one", async () => {
    for (const path of ['/', '/dashboard/app.js', '/dashboard/style.css', '/dashboard/vendor/uPlot.iife.min.js', '/stats', '/stats/top-streams?k=3', '/metrics/top?k=3']) {
      expect((await fetch(`${d.url}${path}`)).status, path).toBe(200);
    }
    expect((await raw(`${d.url}/stats`)).body.auth).toBe(true);
    expect((await fetch(`${d.url}/auth/check`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(204);
  });
});

describe('auth off (the default)', () => {
  it('writes need no token', async () => {
    const open = await startDaemon();
    try {
      expect((await raw(`${open.url}/streams/x`, json({ valor: 1 }))).status).toBe(202);
      expect((await raw(`${open.url}/admin/clear`, { method: 'POST' })).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('read token (--read-token)', () => {
  const READ = 'reader-token-77';
  let p: TestDaemon;
  beforeAll(async () => {
    p = await startDaemon({ token: TOKEN, readToken: READ });
    await p.client.append('priv/a', { valor: 1, secret: 'payload' });
    await p.client.metrics.append({ label: 'cpu', value: 1 });
  });
  afterAll(async () => {
    await p.close();
  });
  const reads = ['/streams/priv/a', '/streams/priv/a?aggregate=true', '/streams/priv/a/subscribe', '/metrics', '/metrics/sum?label=cpu', '/metrics/window', '/metrics/top?k=1', '/metrics/snapshot-views', '/metrics/aggregate-zero-alloc', '/metrics/process-events', '/sessions/x/version'];

  it('every read needs the read token or the write token: 401 without, 403 with another; HEAD too', async () => {
    for (const path of reads) {
      for (const method of ['GET', 'HEAD']) {
        const none = await raw(`${p.url}${path}`, { method });
        expect(none.status, `${method} ${path}`).toBe(401);
        if (method === 'GET') expect(none.body.error.code).toBe('RS_ERR_UNAUTHORIZED');
        expect((await raw(`${p.url}${path}`, { method, headers: { authorization: 'Bearer not-the-token' } })).status, `${method} ${path}`).toBe(403);
      }
    }
    const reader = new RingstoreClient({ baseUrl: p.url, retries: 0, token: READ });
    expect((await reader.readPage('priv/a')).events).toMatchObject([{ secret: 'payload' }]);
    expect(await reader.metrics.sum('cpu')).toBe(1);
    expect((await p.client.readPage('priv/a')).events).toHaveLength(1); // the write token reads too
    const ac = new AbortController();
    const sse = await fetch(`${p.url}/streams/priv/a/subscribe`, { headers: { authorization: `Bearer ${READ}` }, signal: ac.signal });
    expect(sse.status).toBe(200);
    ac.abort();
  });

  it('the read token does not write; health, readiness and the OpenAPI document stay open', async () => {
    const reader = new RingstoreClient({ baseUrl: p.url, retries: 0, token: READ });
    expect(await reader.append('priv/a', { valor: 2 }).catch((e: unknown) => e)).toMatchObject({ status: 403, code: 'RS_ERR_FORBIDDEN' });
    expect(await reader.admin.clear().catch((e: unknown) => e)).toMatchObject({ status: 403 });
    const anonymous = new RingstoreClient({ baseUrl: p.url, retries: 0 });
    expect(await anonymous.health()).toBe('OK');
    expect(await anonymous.ready()).toBe(true);
    expect((await raw(`${p.url}/openapi.json`)).status).toBe(200);
    expect((await p.client.readPage('priv/a')).events).toHaveLength(1);
  });

  it('a read token needs --token, and at least 8 characters', () => {
    expect(() => resolveConfig({ readToken: READ })).toThrow(/needs --token/);
    expect(() => resolveConfig({ token: TOKEN, readToken: 'short' })).toThrow(/at least 8/);
    expect(resolveConfig({ token: TOKEN, readToken: TOKEN }).readToken).toBe(TOKEN); // one token for everything
  });
});
