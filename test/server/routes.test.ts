// End-to-end over real HTTP on loopback: every route of the daemon, through the client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, RingstoreHttpError, VersionConflictError } from '../../dist/src/client/index.js';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';

let d: TestDaemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d.close();
});

describe('health, readiness, Prometheus, OpenAPI', () => {
  it('GET /health is the JSON string "OK" (the reference shape)', async () => {
    const r = await raw(`${d.url}/health`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect(r.body).toBe('OK');
    expect(await d.client.health()).toBe('OK');
    expect(r.headers.get('x-request-id')).toBeTruthy();
  });

  it('GET /ready', async () => {
    expect(await d.client.ready()).toBe(true);
  });

  it('echoes a valid X-Request-Id', async () => {
    const r = await raw(`${d.url}/health`, { headers: { 'x-request-id': 'trace-123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-123');
  });

  it('GET /metrics is Prometheus text with ingest, fill, latency and event-loop lag', async () => {
    await d.client.append('prom/s', { valor: 1 });
    const text = await d.client.prometheus();
    for (const name of ['ringstore_ingested_events_total', 'ringstore_store_discarded_events', 'ringstore_partition_fill_ratio', 'ringstore_http_request_duration_seconds_bucket', 'nodejs_eventloop_lag_seconds']) {
      expect(text).toContain(name);
    }
  });

  it('GET /openapi.json documents every route', async () => {
    const doc = (await d.client.openapi()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/health', '/ready', '/metrics', '/metrics/sum', '/metrics/top', '/admin/purge', '/sessions', '/sessions/{sessionId}/events']) expect(Object.keys(doc.paths)).toContain(p);
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/streams/'))).toBe(true);
  });
});

describe('POST /streams/{*stream}', () => {
  it('appends one event: 202 with { id, partition, position, version, duplicate }', async () => {
    const r = await raw(`${d.url}/streams/gateway/orders`, json({ id: 'g1-1', valor: 10, gatewayId: 'g1', timestamp: '2025-01-01T00:00:00Z' }));
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ id: 'g1-1', version: 1, duplicate: false });
    expect(Number.isInteger(r.body.partition) && r.body.position >= 1).toBe(true);
  });

  it('a retry with the same event id returns the original result and stores nothing', async () => {
    const first = await d.client.append('idem/a', { id: 'x-1', valor: 5 });
    const again = await d.client.append('idem/a', { id: 'x-1', valor: 5 });
    expect(again).toEqual({ ...first, duplicate: true });
    expect((await d.client.readPage('idem/a')).events).toHaveLength(1);
  });

  it('Idempotency-Key header: single and batch', async () => {
    const a = await d.client.append('idem/b', { valor: 1 }, { idempotencyKey: 'req-7' });
    const b = await d.client.append('idem/b', { valor: 1 }, { idempotencyKey: 'req-7' });
    expect(b.duplicate).toBe(true);
    expect(b.version).toBe(a.version);
    const batch = await d.client.append('idem/b', [{ valor: 2 }, { valor: 3 }], { idempotencyKey: 'req-8' });
    const again = await d.client.append('idem/b', [{ valor: 2 }, { valor: 3 }], { idempotencyKey: 'req-8' });
    expect(batch.map((r) => r.id)).toEqual(['req-8:0', 'req-8:1']);
    expect(again.every((r) => r.duplicate)).toBe(true);
    expect((await d.client.aggregate('idem/b')).totalEvents).toBe(3);
  });

  it('JSON-array and NDJSON batches', async () => {
    const arr = await d.client.append('batch/a', [{ valor: 1 }, { valor: 2 }, { valor: 3 }]);
    expect(arr.map((r) => r.version)).toEqual([1, 2, 3]);
    const nd = await d.client.append('batch/a', [{ valor: 4 }, { valor: 5 }], { format: 'ndjson' });
    expect(nd.map((r) => r.version)).toEqual([4, 5]);
    const r = await raw(`${d.url}/streams/batch/a`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"valor":6}\r\n\n{"valor":7}' });
    expect(r.status).toBe(202);
    expect(r.body.map((x: { version: number }) => x.version)).toEqual([6, 7]);
    expect((await d.client.aggregate('batch/a')).totalValor).toBe(28);
  });

  it('expected version via header or query; 409 with expected and actual; nothing stored', async () => {
    await d.client.append('ev/a', { valor: 1 }, { expectedVersion: 0 });
    await d.client.append('ev/a', [{ valor: 2 }, { valor: 3 }], { expectedVersion: 1 });
    const err = await d.client.append('ev/a', { valor: 9 }, { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(err).toMatchObject({ code: 'RS_ERR_CONFLICT', status: 409, expected: 1, actual: 3 });
    const q = await raw(`${d.url}/streams/ev/a?expectedVersion=2`, json({ valor: 9 }));
    expect(q.status).toBe(409);
    expect(q.body.error).toMatchObject({ code: 'RS_ERR_CONFLICT', expected: 2, actual: 3 });
    const ok = await raw(`${d.url}/streams/ev/a?expectedVersion=3`, json({ valor: 4 }));
    expect(ok.body.version).toBe(4);
    expect((await d.client.aggregate('ev/a')).totalValor).toBe(10);
  });

  it('concurrent single POSTs (coalesced into one store call) each get their own result; a bad one fails alone', async () => {
    const posts = Array.from({ length: 40 }, (_, i) => raw(`${d.url}/streams/co/${i % 4}`, json(i === 7 ? { pad: 'x'.repeat(70_000) } : { n: i, ...(i % 5 === 0 ? { id: `co-${i % 10}` } : {}) })));
    const results = await Promise.all(posts);
    expect(results[7].status).toBe(413);
    const ok = results.filter((r, i) => i !== 7);
    expect(ok.every((r) => r.status === 202)).toBe(true);
    // ids co-0 and co-5 were each sent 4 times (i = 0, 10, 20, 30 / 5, 15, 25, 35), twice to each of two
    // streams: ids are scoped by stream, so each is stored once per stream
    const dups = ok.filter((r) => r.body.duplicate).length;
    expect(dups).toBe(4);
    for (let s = 0; s < 4; s++) {
      const { events } = await d.client.readPage(`co/${s}`);
      expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    }
    const total = (await Promise.all([0, 1, 2, 3].map((s) => d.client.readPage(`co/${s}`)))).reduce((a, p) => a + p.events.length, 0);
    expect(total).toBe(39 - 4);
  });

  it('normalises timestamps to ISO UTC and keeps stream names with slashes and escapes', async () => {
    await d.client.append('orders/eu/fr é', { valor: 1, timestamp: 1_700_000_000_000 });
    await d.client.append('orders/eu/fr é', { valor: 2 });
    const { events } = await d.client.readPage('orders/eu/fr é');
    expect(events[0].timestamp).toBe(new Date(1_700_000_000_000).toISOString());
    expect(Date.parse(events[1].timestamp)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('GET /streams/{*stream}', () => {
  it('reads the reference shape: posted fields plus id and version, in version order', async () => {
    await d.client.append('read/a', [{ id: 'a', valor: 3, gatewayId: 'g1' }, { id: 'b', valor: 4, gatewayId: 'g2' }]);
    const { events, nextFrom } = await d.client.readPage('read/a');
    expect(events.map((e) => [e.id, e.valor, e.gatewayId, e.version])).toEqual([['a', 3, 'g1', 1], ['b', 4, 'g2', 2]]);
    expect(nextFrom).toBeUndefined();
  });

  it('an unknown stream is [] (not 404)', async () => {
    expect((await d.client.readPage('nobody/here')).events).toEqual([]);
  });

  it('?from=&limit= really pages, and read() iterates every page', async () => {
    await d.client.append('page/a', Array.from({ length: 25 }, (_, i) => ({ n: i + 1 })));
    const p1 = await d.client.readPage('page/a', { from: 0, limit: 10 });
    expect(p1.events.map((e) => e.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(p1.nextFrom).toBe(11);
    const p3 = await d.client.readPage('page/a', { from: 21, limit: 10 });
    expect(p3.events.map((e) => e.version)).toEqual([21, 22, 23, 24, 25]);
    expect(p3.nextFrom).toBeUndefined();
    const all: number[] = [];
    for await (const e of d.client.read('page/a', { pageSize: 7 })) all.push(e.n as number);
    expect(all).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const from12: number[] = [];
    for await (const e of d.client.read('page/a', { from: 12, pageSize: 5 })) from12.push(e.version);
    expect(from12[0]).toBe(12);
    expect(from12).toHaveLength(14);
  });

  it('?aggregate=true: { stream, totalEvents, totalValor, gateways, durationMs }', async () => {
    await d.client.append('agg/a', [{ valor: 10, gatewayId: 'g1' }, { valor: 5, gatewayId: 'g2' }, { valor: 1, gatewayId: 'g1' }]);
    const a = await d.client.aggregate('agg/a');
    expect(a).toMatchObject({ stream: 'agg/a', totalEvents: 3, totalValor: 16, gateways: { g1: { count: 2, sum: 11 }, g2: { count: 1, sum: 5 } } });
    expect(typeof a.durationMs).toBe('number');
    const raw2 = await raw(`${d.url}/streams/agg/a?from=0&aggregate=true`);
    expect(raw2.body.totalValor).toBe(16);
  });

  it('generic sum= and groupBy=', async () => {
    await d.client.append('agg/b', [{ amount: 2, region: 'eu' }, { amount: 3, region: 'us' }, { amount: 4, region: 'eu' }]);
    const a = await d.client.aggregate('agg/b', { sum: 'amount', groupBy: 'region' });
    expect(a).toMatchObject({ totalEvents: 3, totalAmount: 9, groups: { eu: { count: 2, sum: 6 }, us: { count: 1, sum: 3 } } });
  });

  it('sum= and groupBy= read only the event\'s own fields, not Object.prototype\'s', async () => {
    // groupBy=constructor grouped every event under "undefined" (the Object function), __proto__ under "{}"
    await d.client.append('agg/proto', [{ amount: 2, region: 'eu' }, { amount: 3, constructor: 'c1' }]);
    for (const groupBy of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const a = await d.client.aggregate('agg/proto', { sum: 'amount', groupBy });
      const expected = groupBy === 'constructor' ? { '': { count: 1, sum: 2 }, c1: { count: 1, sum: 3 } } : { '': { count: 2, sum: 5 } };
      expect(a.groups, groupBy).toEqual(expected);
    }
  });
});

describe('GET /streams/{*stream}/subscribe (server-sent events)', () => {
  it('replays from a version, then delivers live events', async () => {
    await d.client.append('live/a', [{ n: 1 }, { n: 2 }, { n: 3 }]);
    const ac = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const e of d.client.subscribe('live/a', { from: 2, signal: ac.signal })) {
        seen.push(e.version);
        if (seen.length === 4) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await d.client.append('live/a', [{ n: 4 }, { n: 5 }]);
    await done;
    expect(seen).toEqual([2, 3, 4, 5]);
  });

  it('resumes after Last-Event-ID', async () => {
    await d.client.append('live/b', [{ n: 1 }, { n: 2 }, { n: 3 }]);
    const ac = new AbortController();
    const res = await fetch(`${d.url}/streams/live/b/subscribe`, { headers: { 'last-event-id': '2' }, signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\nid:') && !/id: 3[\s\S]*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    expect(text).toMatch(/id: 3\nevent: event\ndata: \{.*"version":3/);
    expect(text).not.toMatch(/id: 2\n/);
  });
});

describe('the reference /metrics routes', () => {
  const t0 = Date.parse('2025-06-01T00:00:00Z');
  beforeAll(async () => {
    await d.client.metrics.append({ label: 'cpu', value: 70, timestamp: t0 });
    await d.client.metrics.append([
      { label: 'cpu', value: 30, timestamp: new Date(t0 + 1000) },
      { label: 'mem', value: 55, timestamp: new Date(t0 + 2000).toISOString() },
      { label: 'disk', value: 10, timestamp: t0 + 3000 },
    ]);
    await d.client.metrics.append({ label: 'cpu', value: 5 }); // now
    const r = await raw(`${d.url}/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: `{"label":"latency","value":80,"timestamp":${t0 + 4000}}\n` });
    expect(r.status).toBe(202);
    expect(r.body).toBe('');
    // POST /metrics does not wait for the commit; flush by polling.
    for (let i = 0; i < 100 && (await d.client.metrics.aggregate()).count < 6; i++) await new Promise((res) => setTimeout(res, 10));
  });

  it('POST /metrics is 202 with an empty body', async () => {
    const r = await raw(`${d.url}/metrics`, json({ label: 'x', value: 1, timestamp: t0 - 10 * 86_400_000 }));
    expect(r.status).toBe(202);
    expect(r.body).toBe('');
  });

  it('GET /metrics/sum is a bare number, with from/to', async () => {
    expect(await d.client.metrics.sum('cpu')).toBe(105);
    expect(await d.client.metrics.sum('cpu', { from: t0, to: new Date(t0 + 1000) })).toBe(100);
    expect(await d.client.metrics.sum('cpu', { from: '2025-06-01T00:00:00.500Z', to: t0 + 1000 })).toBe(30);
    expect(await d.client.metrics.sum('nobody')).toBe(0);
  });

  it('GET /metrics/sum-window', async () => {
    expect(await d.client.metrics.sumWindow('cpu')).toBe(5);
    expect(await d.client.metrics.sumWindow('cpu', 0.5)).toBe(5);
  });

  it('GET /metrics/window echoes the window; zeros when empty', async () => {
    const w = await d.client.metrics.window({ label: 'cpu', from: t0, to: t0 + 5000 });
    expect(w).toEqual({ count: 2, sum: 100, min: 30, max: 70, avg: 50, window: { from: '2025-06-01T00:00:00.000Z', to: '2025-06-01T00:00:05.000Z', label: 'cpu' } });
    expect(await d.client.metrics.window({ label: 'none' })).toEqual({ count: 0, sum: 0, min: 0, max: 0, avg: 0, window: { from: null, to: null, label: 'none' } });
  });

  it('GET /metrics/top?k= (restored)', async () => {
    expect(await d.client.metrics.top(2, { from: t0, to: t0 + 5000 })).toEqual([{ key: 'cpu', value: 100 }, { key: 'latency', value: 80 }]);
    expect(await d.client.metrics.top(0)).toEqual([]);
  });

  it('GET /metrics/snapshot-views', async () => {
    const v = await d.client.metrics.snapshotViews();
    expect(v.partitions).toBe(2);
    expect(v.views).toHaveLength(2);
    expect(v.totalEvents).toBe(v.views.reduce((a, x) => a + x.totalCount, 0));
    for (const x of v.views) expect(x).toEqual({ segmentCount: x.hasWrapAround ? 2 : 1, totalCount: x.totalCount, hasWrapAround: x.hasWrapAround, isEmpty: x.totalCount === 0 });
  });

  it('GET /metrics/aggregate-zero-alloc', async () => {
    expect(await d.client.metrics.aggregate({ from: t0, to: t0 + 5000 })).toEqual({ count: 5, sum: 245, min: 10, max: 80, avg: 49 });
    expect(await d.client.metrics.aggregate({ from: 0, to: 1 })).toEqual({ count: 0, sum: 0, min: 0, max: 0, avg: 0 });
  });

  it('GET /metrics/process-events', async () => {
    const all = await d.client.metrics.processEvents();
    expect(all.highCpuCount).toBe(3); // cpu 70, mem 55, latency 80
    expect((await d.client.metrics.processEvents('cp')).highCpuCount).toBe(1);
    expect(all.processed).toBeGreaterThanOrEqual(7);
  });
});

describe('admin', () => {
  it('purge, clear and reset act on both ring stores', async () => {
    const own = await startDaemon();
    try {
      await own.client.append('adm/a', { valor: 1 });
      await own.client.metrics.append({ label: 'old', value: 1, timestamp: Date.parse('2020-01-01T00:00:00Z') });
      await own.client.metrics.append({ label: 'new', value: 1 });
      for (let i = 0; i < 100 && (await own.client.metrics.aggregate()).count < 2; i++) await new Promise((r) => setTimeout(r, 10));
      const p = await own.client.admin.purge({ olderThanMinutes: 60 });
      expect(p.purged).toBe(1);
      expect(Date.parse(p.purgedBefore)).toBeLessThan(Date.now() - 59 * 60_000);
      const p2 = await own.client.admin.purge({ olderThan: '2019-01-01T00:00:00Z' });
      expect(p2).toEqual({ purgedBefore: '2019-01-01T00:00:00.000Z', purged: 0 });
      expect(await own.client.admin.clear()).toEqual({ cleared: true, removed: 2 });
      expect((await own.client.readPage('adm/a')).events).toEqual([]);
      await own.client.append('adm/b', { valor: 1 });
      expect(await own.client.admin.reset()).toEqual({ reset: true, removed: 1 });
      expect((await own.client.metrics.aggregate()).count).toBe(0);
    } finally {
      await own.close();
    }
  });
});

describe('errors', () => {
  it('unknown routes: 404 RS_ERR_NOT_FOUND in the error shape', async () => {
    for (const [method, path] of [['GET', '/nope'], ['DELETE', '/streams/a'], ['PUT', '/metrics'], ['GET', '/admin/clear']]) {
      const r = await raw(`${d.url}${path}`, { method });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('RS_ERR_NOT_FOUND');
    }
    await expect(d.client.request('GET', '/nope', { idempotent: true })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('client errors are typed and carry the request id', async () => {
    const err = (await d.client.metrics.top(-1).catch((e: unknown) => e)) as RingstoreHttpError;
    expect(err).toBeInstanceOf(RingstoreHttpError);
    expect(err).toMatchObject({ code: 'RS_ERR_BAD_REQUEST', status: 400 });
    expect(err.requestId).toBeTruthy();
  });
});
