// The daemon's hot-path instruments: the request latency histogram and the deferred counters must expose exactly
// what prom-client's own Histogram and Counter would, and count every request, matched or not, by route pattern.
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeferredCounter } from '../../dist/src/server/deferred-counter.js';
import { RequestLatency } from '../../dist/src/server/request-latency.js';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const samples: [string, string, number, number][] = [
  ['POST', '/streams/*', 202, 0.0004],
  ['POST', '/streams/*', 202, 0.0005], // on a bound: counted in that bucket (le is inclusive)
  ['POST', '/streams/*', 202, 0.002],
  ['POST', '/streams/*', 400, 0.0001],
  ['GET', 'unmatched', 404, 3], // beyond the last bound: +Inf only
];

describe('RequestLatency', () => {
  it('exposes the same text as a prom-client Histogram fed the same observations', async () => {
    const ours = new Registry();
    const latency = new RequestLatency('lat_seconds', 'help text', BUCKETS);
    ours.registerMetric(latency.asMetric());
    const theirs = new Registry();
    const h = new Histogram({ name: 'lat_seconds', help: 'help text', labelNames: ['method', 'route', 'status_code'], buckets: BUCKETS, registers: [theirs] });
    for (const [method, route, status, s] of samples) {
      latency.observe(method, route, status, s);
      h.observe({ method, route, status_code: String(status) }, s);
    }
    const sort = (t: string) => t.trim().split('\n').sort();
    expect(sort(await ours.metrics())).toEqual(sort(await theirs.metrics()));
    expect(await ours.metrics()).toContain('lat_seconds_bucket{le="+Inf",method="GET",route="unmatched",status_code="404"} 1');
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('lat_seconds_bucket');
  });

  it('rejects buckets that are not finite and increasing', () => {
    expect(() => new RequestLatency('x', 'y', [0.1, 0.1])).toThrow(RangeError);
    expect(() => new RequestLatency('x', 'y', [0.1, Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});

describe('DeferredCounter', () => {
  it('sums increments per label pair and hands them to prom-client at scrape time, once', async () => {
    const registry = new Registry();
    const c = new DeferredCounter(registry, 'ingested_total', 'help', ['store', 'format']);
    c.add('streams', 'json', 2);
    c.add('streams', 'json', 3);
    c.add('streams', 'ndjson', 1);
    const text = await registry.metrics();
    expect(text).toContain('ingested_total{store="streams",format="json"} 5');
    expect(text).toContain('ingested_total{store="streams",format="ndjson"} 1');
    c.add('streams', 'json', 1);
    const again = await registry.metrics();
    expect(again).toContain('ingested_total{store="streams",format="json"} 6'); // not 5 + 6
    const reference = new Registry();
    new Counter({ name: 'ingested_total', help: 'help', labelNames: ['store', 'format'], registers: [reference] }).inc({ store: 'streams', format: 'json' }, 6);
    expect(again).toContain((await reference.metrics()).split('\n').find((l) => l.startsWith('ingested_total{'))!);
    c.add('streams', 'json', 4); // pending when the registry is reset: dropped with it
    registry.resetMetrics();
    c.add('streams', 'json', 1);
    expect(await registry.metrics()).toContain('ingested_total{store="streams",format="json"} 1');
  });
});

describe('GET /metrics counts every request', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startDaemon();
  });
  afterAll(async () => {
    await d.close();
  });

  it('by route pattern and status: accepted, refused (400) and unmatched (404), and ingested events by format', async () => {
    expect((await raw(`${d.url}/streams/m/a`, json({ valor: 1 }))).status).toBe(202);
    expect((await raw(`${d.url}/streams/m/a`, json([{ valor: 2 }, { valor: 3 }]))).status).toBe(202);
    expect((await raw(`${d.url}/streams/m/a`, json('{"valor":'))).status).toBe(400);
    expect((await raw(`${d.url}/no/such/route`)).status).toBe(404);
    expect((await raw(`${d.url}/streams/m/a?from=x`)).status).toBe(400); // coerced query fails validation
    expect((await raw(`${d.url}/streams/m/a?from=2`)).body).toHaveLength(2); // coerced query passes
    expect((await raw(`${d.url}/streams/%E0%A4%A`)).status).toBe(400); // a bad URL fails before routing
    const text = await d.client.prometheus();
    const count = (labels: string) => Number(new RegExp(`ringstore_http_request_duration_seconds_count\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect(count('method="POST",route="/streams/\\*",status_code="202"')).toBe(2);
    expect(count('method="POST",route="/streams/\\*",status_code="400"')).toBe(1);
    expect(count('method="GET",route="unmatched",status_code="404"')).toBe(1);
    expect(count('method="GET",route="unmatched",status_code="400"')).toBe(1);
    expect(count('method="GET",route="/streams/\\*",status_code="400"')).toBe(1);
    expect(text).toContain('ringstore_ingested_events_total{store="streams",format="json"} 1');
    expect(text).toContain('ringstore_ingested_events_total{store="streams",format="array"} 2');
  });

  it('ringstore_thread_memory_bytes: the heap of the main thread and of each partition worker, asked without a counted call', async () => {
    const calls = (): number => d.server.context.stores.streams.stats.calls + d.server.context.stores.metrics.stats.calls;
    const before = calls();
    const text = await d.client.prometheus();
    expect(calls(), 'a scrape is not a query').toBe(before);
    const mem: Record<string, Record<string, number>> = {};
    for (const m of text.matchAll(/^ringstore_thread_memory_bytes\{thread="([^"]+)",kind="([^"]+)"\} (\S+)$/gm)) (mem[m[1]] ??= {})[m[2]] = Number(m[3]);
    expect(Object.keys(mem).sort()).toEqual(['main', 'metrics-p0', 'metrics-p1', 'streams-p0', 'streams-p1']);
    for (const [thread, m] of Object.entries(mem)) {
      expect(Object.keys(m).sort(), thread).toEqual(['arrayBuffers', 'external', 'heapTotal', 'heapUsed']);
      expect(m.heapUsed, thread).toBeGreaterThan(2 ** 20);
      expect(m.heapUsed, thread).toBeLessThanOrEqual(m.heapTotal);
    }
  });
});
