// The dashboard's server side: the figures it reads (GET /stats, /stats/top-streams,
// POST /auth/check) and the two computations behind them (ingest history, latency window).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestHistory } from '../../dist/src/server/dashboard/ingest-history.js';
import { LatencyWindow, bucketQuantile } from '../../dist/src/server/dashboard/latency-window.js';
import { RequestLatency } from '../../dist/src/server/request-latency.js';
import { raw, startDaemon, type TestDaemon } from './helpers.js';

let d: TestDaemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d.close();
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
    for (const p of ['/stats', '/stats/top-streams', '/auth/check']) expect(Object.keys(doc.paths)).toContain(p);
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
