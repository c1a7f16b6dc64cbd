// The dashboard's server side: its static files (complete, from the package, no
// traversal), the figures it reads (GET /stats, /stats/top-streams, POST
// /auth/check) and the two computations behind them (ingest history, latency window).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { pino } from 'pino';
import { IngestHistory } from '../../dist/src/server/dashboard/ingest-history.js';
import { LatencyWindow, bucketQuantile } from '../../dist/src/server/dashboard/latency-window.js';
import { toErrorResponse } from '../../dist/src/server/errors.js';
import { RequestLatency } from '../../dist/src/server/request-latency.js';
import { dashboardRoutes } from '../../dist/src/server/routes/dashboard.js';
import { raw, startDaemon, type TestDaemon } from './helpers.js';

/** A GET of `path` exactly as written: fetch would resolve the dot segments before sending. */
function rawPath(base: string, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

let d: TestDaemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d.close();
});

describe('GET / and GET /dashboard/*', () => {
  it('serves the page with a same-origin-only CSP', async () => {
    const r = await fetch(`${d.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toContain('<title>ringstore</title>');
  });

  it('every file the page references is served, none from another origin', async () => {
    const seen = new Set<string>();
    const queue = ['/'];
    while (queue.length > 0) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const r = await fetch(`${d.url}${path}`);
      expect(r.status, path).toBe(200);
      const text = await r.text();
      if (!/\.(html|js)$|^\/$/.test(path) || path.includes('/vendor/')) continue;
      // HTML src/href attributes and ES module imports.
      const refs = [...text.matchAll(/(?:src|href)="([^"]+)"/g), ...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]).filter((u) => u !== 'data:,');
      for (const ref of refs) {
        expect(ref, `${path} refers to ${ref}`).not.toMatch(/^(https?:)?\/\//);
        queue.push(new URL(ref, `${d.url}${path === '/' ? '/' : path}`).pathname);
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining(['/', '/dashboard/app.js', '/dashboard/style.css', '/dashboard/vendor/uPlot.iife.min.js', '/dashboard/vendor/uPlot.min.css', '/dashboard/api.js', '/dashboard/tail.js', '/dashboard/versioned.js']));
    const js = await fetch(`${d.url}/dashboard/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await fetch(`${d.url}/dashboard/app.js`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${d.url}/dashboard/app.js`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    const other = await fetch(`${d.url}/dashboard/app.js`, { headers: { 'if-none-match': '"other"' } });
    expect(other.status).toBe(200);
  });

  const attempts = [
    '/dashboard/../package.json',
    '/dashboard/..%2fpackage.json',
    '/dashboard/..%2F..%2F..%2F..%2Fpackage.json',
    '/dashboard/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json',
    '/dashboard/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
    '/dashboard/%252e%252e%252fpackage.json',
    '/dashboard/vendor/../../../../package.json',
    '/dashboard/vendor/..%2f..%2f..%2f..%2f..%2fpackage.json',
    '/dashboard/..%5c..%5cpackage.json',
    '/dashboard/....//....//package.json',
    '/dashboard//etc/passwd',
    '/dashboard/%2fetc%2fpasswd',
    '/dashboard/index.html%00.js',
    '/dashboard/%00',
    '/dashboard/',
    '/dashboard/assets.js',
    '/dashboard/index.ts',
    '/dashboard/vendor/uPlot.esm.js',
    `/dashboard/${'a'.repeat(300)}.js`,
    '/dashboard/%E0%A4%A',
  ];
  for (const path of attempts) {
    it(`refuses ${path.slice(0, 60)} with a 4xx error body`, async () => {
      const r = await rawPath(d.url, path);
      expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.error.code).toMatch(/^RS_ERR_/);
      expect(JSON.stringify(r.body)).not.toContain('"name": "ringstore"');
    });
  }
});

describe('without its files (a broken install)', () => {
  it('GET / is a 404 that says why, and the daemon still starts', async () => {
    const app = Fastify();
    app.setErrorHandler((err, _request, reply) => {
      const r = toErrorResponse(err);
      void reply.code(r.status).send(r.body);
    });
    const log = pino({ level: 'silent' });
    dashboardRoutes(app, { log } as never, () => {
      throw new Error('no index.html in /nowhere');
    });
    const r = await app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toMatchObject({ code: 'RS_ERR_NOT_FOUND' });
    expect(r.json().error.message).toContain('not installed: no index.html in /nowhere');
    await app.close();
  });
});

describe('GET /stats', () => {
  it('answers the stores, partitions, ingest, latency, subscriptions and sessions as the stores report them', async () => {
    await d.client.append('dash/a', [{ valor: 1 }, { valor: 2 }, { valor: 3 }]);
    await d.client.append('dash/b', { valor: 4 });
    await d.client.metrics.append([{ label: 'cpu', value: 10 }, { label: 'mem', value: 5 }]);
    await d.server.context.stores.metrics.flush();
    const { status, body } = await raw(`${d.url}/stats`);
    expect(status).toBe(200);
    const stores = d.server.context.stores;
    for (const [name, store] of [['streams', stores.streams], ['metrics', stores.metrics]] as const) {
      const s = store.stats;
      const b = body.stores[name];
      expect(b).toMatchObject({ committed: s.committed, live: s.live, capacity: s.capacity, discarded: s.discarded, restarts: s.restarts, fill: s.live / s.capacity });
      expect(b.partitions).toHaveLength(2);
      b.partitions.forEach((p: { partition: number; live: number; capacity: number; fill: number }, i: number) => {
        expect(p).toMatchObject({ partition: i, live: s.partitions[i].live, capacity: s.partitions[i].capacity, fill: s.partitions[i].live / s.partitions[i].capacity });
      });
    }
    expect(body.stores.streams.live).toBe(4);
    expect(body.stores.metrics.live).toBe(2);
    expect(body.auth).toBe(false);
    expect(body).toMatchObject({ subscriptions: 0, sessions: 0 });
    expect(body.ingest.intervalMs).toBe(1000);
    expect(body.ingest.t.length).toBe(body.ingest.streams.length);
    const post = body.latency.routes.find((r: { method: string; route: string }) => r.method === 'POST' && r.route === '/streams/*');
    expect(post.count).toBe(2);
    expect(post.p50Ms).toBeGreaterThan(0);
    expect(post.p99Ms).toBeGreaterThanOrEqual(post.p50Ms);
    expect(body.latency.all.count).toBe(body.latency.routes.reduce((a: number, r: { count: number }) => a + r.count, 0));
  });

  it('the ingest series adds up to the events committed while it ran', async () => {
    // A tick after every earlier append, so the intervals after it hold only the events below.
    const first = (await raw(`${d.url}/stats`)).body.ingest.t.at(-1) ?? 0;
    let lastT = first;
    while (lastT === first) {
      await new Promise((r) => setTimeout(r, 100));
      lastT = (await raw(`${d.url}/stats`)).body.ingest.t.at(-1) ?? 0;
    }
    await d.client.append('dash/ingest', Array.from({ length: 50 }, (_, i) => ({ valor: i })));
    // Two ticks later the interval holding the appends is in the series.
    await new Promise((r) => setTimeout(r, 2300));
    const { ingest } = (await raw(`${d.url}/stats`)).body;
    const i0 = ingest.t.indexOf(lastT) + 1;
    expect(i0).toBeGreaterThan(0);
    expect(ingest.t.length).toBeGreaterThan(i0);
    let events = 0;
    for (let i = i0; i < ingest.t.length; i++) events += (ingest.streams[i] * (ingest.t[i] - ingest.t[i - 1])) / 1000;
    // Rates are rounded to 0.1/s per point.
    expect(Math.abs(events - 50)).toBeLessThan(0.5);
  });

  it('documents the new routes in /openapi.json', async () => {
    const doc = (await d.client.openapi()) as { paths: Record<string, unknown> };
    for (const p of ['/', '/dashboard/{*}', '/stats', '/stats/top-streams', '/auth/check']) expect(Object.keys(doc.paths)).toContain(p);
  });
});

describe('GET /stats/top-streams', () => {
  it('the streams holding the most events, most first, ties by name', async () => {
    await d.client.admin.clear();
    await d.client.append('top/x', [{ valor: 1 }, { valor: 1 }]);
    await d.client.append('top/b', [{ valor: 1 }, { valor: 1 }, { valor: 1 }]);
    await d.client.append('top/a', [{ valor: 1 }, { valor: 1 }]);
    await d.client.append('top/z', [{ notValor: 'x' }]);
    expect((await raw(`${d.url}/stats/top-streams`)).body).toEqual([
      { stream: 'top/b', events: 3 }, { stream: 'top/a', events: 2 }, { stream: 'top/x', events: 2 }, { stream: 'top/z', events: 1 },
    ]);
    expect((await raw(`${d.url}/stats/top-streams?k=1`)).body).toEqual([{ stream: 'top/b', events: 3 }]);
    expect((await raw(`${d.url}/stats/top-streams?k=0`)).body).toEqual([]);
    expect((await raw(`${d.url}/stats/top-streams?k=10000`)).body).toHaveLength(4);
  });

  for (const q of ['k=-1', 'k=10001', 'k=1.5', 'k=abc', 'k=', 'n=3', 'k=1&k=2']) {
    it(`?${q} is a 400`, async () => {
      const r = await raw(`${d.url}/stats/top-streams?${q}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('RS_ERR_BAD_REQUEST');
    });
  }
});

describe('POST /auth/check', () => {
  it('is 204 on a daemon without a token', async () => {
    expect((await fetch(`${d.url}/auth/check`, { method: 'POST' })).status).toBe(204);
  });
});

describe('IngestHistory', () => {
  it('rates per interval, a baseline first, no negative rate, bounded length', () => {
    let committed = { streams: 0, metrics: 0 };
    const h = new IngestHistory(() => committed, 1000, 3);
    h.tick(10_000);
    expect(h.series()).toEqual({ intervalMs: 1000, t: [], streams: [], metrics: [] });
    committed = { streams: 5, metrics: 1 };
    h.tick(11_000);
    committed = { streams: 10, metrics: 1 };
    h.tick(11_500); // half an interval: 5 events are 10/s
    h.tick(11_500); // no time passed: ignored
    committed = { streams: 4, metrics: 3 }; // a counter that went back (cannot happen; never negative)
    h.tick(12_500);
    expect(h.series()).toEqual({ intervalMs: 1000, t: [11_000, 11_500, 12_500], streams: [5, 10, 0], metrics: [1, 0, 2] });
    committed = { streams: 7, metrics: 3 };
    h.tick(13_500);
    expect(h.series()).toEqual({ intervalMs: 1000, t: [11_500, 12_500, 13_500], streams: [10, 0, 3], metrics: [0, 2, 0] });
  });
});

describe('bucketQuantile', () => {
  const bounds = [0.001, 0.01, 0.1];
  it('is null without observations', () => {
    expect(bucketQuantile(0.5, bounds, [0, 0, 0, 0])).toBeNull();
    expect(bucketQuantile(0.5, [], [])).toBeNull();
  });
  it('interpolates within the bucket, from 0 in the first one', () => {
    expect(bucketQuantile(0.5, bounds, [4, 4, 4, 4])).toBeCloseTo(0.0005, 12);
    expect(bucketQuantile(0.5, bounds, [0, 4, 4, 4])).toBeCloseTo(0.001 + 0.009 * 0.5, 12);
    expect(bucketQuantile(0.99, bounds, [0, 0, 100, 100])).toBeCloseTo(0.01 + 0.09 * 0.99, 12);
    expect(bucketQuantile(1, bounds, [1, 2, 3, 3])).toBe(0.1);
  });
  it('is the largest finite bound when the rank falls in +Inf', () => {
    expect(bucketQuantile(0.5, bounds, [0, 0, 0, 7])).toBe(0.1);
    expect(bucketQuantile(0.99, bounds, [90, 90, 90, 100])).toBe(0.1);
  });
});

describe('LatencyWindow', () => {
  it('counts only the requests of the last window, per route and in all', () => {
    const h = new RequestLatency('lat_seconds', 'test', [0.001, 0.01]);
    const w = new LatencyWindow(h, 60_000);
    w.tick(0);
    for (let i = 0; i < 3; i++) h.observe('GET', '/a', 200, 0.005);
    w.tick(30_000);
    h.observe('POST', '/b', 202, 0.0005);
    h.observe('POST', '/b', 400, 0.0005); // statuses are merged
    let s = w.summary(30_000);
    expect(s.windowSeconds).toBe(30);
    expect(s.all.count).toBe(5);
    expect(s.routes).toEqual([
      { method: 'GET', route: '/a', count: 3, p50Ms: 5.5, p99Ms: 9.91 },
      { method: 'POST', route: '/b', count: 2, p50Ms: 0.5, p99Ms: 0.99 },
    ]);
    w.tick(61_000);
    expect(w.summary(61_000).all.count).toBe(5); // the snapshot at 0 is still the window's start
    w.tick(95_000); // the window starts at 35,000: the snapshot at 30,000 is its base
    s = w.summary(95_000);
    expect(s.windowSeconds).toBe(60);
    expect(s.routes).toEqual([{ method: 'POST', route: '/b', count: 2, p50Ms: 0.5, p99Ms: 0.99 }]);
    expect(s.all).toEqual({ count: 2, p50Ms: 0.5, p99Ms: 0.99 });
    w.tick(200_000);
    expect(w.summary(200_000)).toEqual({ windowSeconds: 60, all: { count: 0, p50Ms: null, p99Ms: null }, routes: [] });
  });
});
