// Resource tests against a real daemon process: 2,000 keep-alive connections, 500 SSE subscribers, and a slowloris
// on headers and on bodies. Throughout, GET /health answers every probe (one every 20 ms), each within 2 s.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnQuietDaemon, type Daemon } from './process.js';
import { head, probeHealth, quantile, rawConnect, sleep, type RawConnection } from './raw-http.js';

/**
 * A probe without an answer within this is a failure. The defect these tests catch is /health blocked behind the
 * load (an event loop starved by the SSE fan-out, descriptors held by a slowloris): it answers late by seconds, or
 * never. How fast it answers (p99 in ms) depends on the machine's load, not on the daemon alone (a load average of
 * 20 on 2 cores took it to 300-600 ms): that is a figure of the soak (`npm run soak`: /health p99 every sample,
 * docs/benchmarks.md), not a timed assertion here.
 */
const HEALTH_DEADLINE_MS = 2000;
// The machine these run on is shared: another process's burst can stall ours for a moment. A defect fails every
// attempt; noise rarely fails three in a row. The bound itself never moves.
const NOISE = { retry: 2 };

/** Opens `n` connections, `batch` at a time (a burst of thousands of SYNs would overflow the accept queue). */
async function openMany(port: number, n: number, batch = 200): Promise<RawConnection[]> {
  const out: RawConnection[] = [];
  for (let i = 0; i < n; i += batch) out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => rawConnect(port)))));
  return out;
}

function expectHealthy(probe: { statuses: number[]; ms: number[] }, what: string): void {
  const figures = `/health p99 ${quantile(probe.ms, 0.99).toFixed(1)} ms, max ${Math.max(...probe.ms).toFixed(1)} ms over ${probe.ms.length} probes`;
  expect(probe.statuses.length, what).toBeGreaterThan(50);
  // A status 0 is a probe that got no answer within HEALTH_DEADLINE_MS.
  expect(probe.statuses.filter((s) => s !== 200), `${what}: /health failures (${figures})`).toEqual([]);
  expect(Math.max(...probe.ms), `${what}: ${figures}`).toBeLessThan(HEALTH_DEADLINE_MS);
}

const probe = (port: number): ReturnType<typeof probeHealth> => probeHealth(port, 20, HEALTH_DEADLINE_MS);

describe('resources', () => {
  let d: Daemon | undefined;
  let port: number;
  /** A daemon per test: one scenario's leftovers (heap, sockets) must not weigh on the next. */
  const start = async (...flags: string[]): Promise<Daemon> => {
    const spawned = await spawnQuietDaemon(['--log-level', 'warn', '--partitions', '2', '--capacity', '65536', '--max-connections', '5000', ...flags]);
    port = spawned.port;
    d = spawned;
    return spawned;
  };
  afterEach(async () => {
    d?.child.kill('SIGTERM');
    await d?.exit;
    d = undefined;
  });

  it('2,000 keep-alive connections, each sending a request every 2 s', NOISE, async () => {
    await start();
    const health = probe(port);
    await health.ready;
    const conns = await openMany(port, 2000);
    const rounds = 3;
    // Paced: 1,000 requests a second over the 2,000 connections, each connection reused every round.
    for (let round = 1; round <= rounds; round++) {
      for (let i = 0; i < conns.length; i += 100) {
        for (const c of conns.slice(i, i + 100)) void c.write(head('GET', i % 200 === 0 ? '/metrics/snapshot-views' : '/health'));
        await sleep(100);
      }
    }
    const answered = await Promise.all(conns.map((c) => c.response(rounds, 5000)));
    expectHealthy(await health.stop(), '2,000 keep-alive connections');
    expect(answered.filter((r) => r?.status !== 200).length).toBe(0);
    expect(conns.filter((c) => c.closedAfter !== undefined).length, 'connections closed by the daemon').toBe(0);
    for (const c of conns) c.destroy();
  });

  it('500 SSE subscribers on 50 streams receive the events appended meanwhile', NOISE, async () => {
    const daemon = await start();
    const health = probe(port);
    await health.ready;
    const subs = await openMany(port, 500, 100);
    for (let i = 0; i < subs.length; i++) void subs[i].write(head('GET', `/streams/res/s${i % 50}/subscribe`));
    await Promise.all(subs.map((c) => c.response(1, 5000)));
    const posts: Promise<number>[] = [];
    for (let k = 0; k < 10; k++) {
      for (let s = 0; s < 50; s++) {
        posts.push(fetch(`${daemon.url}/streams/res/s${s}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ valor: k, gatewayId: 'g' }) })
          .then(async (r) => { await r.text(); return r.status; }, () => 0));
      }
      await sleep(500);
    }
    const statuses = await Promise.all(posts);
    await sleep(500);
    expectHealthy(await health.stop(), '500 SSE subscribers');
    expect(statuses.filter((s) => s !== 202), 'appends not accepted').toEqual([]);
    const events = subs.map((c) => (c.responses[0]?.body.match(/^event: event$/gm) ?? []).length);
    expect(subs.every((c) => c.responses[0]?.status === 200)).toBe(true);
    expect(Math.min(...events), 'events seen by the slowest subscriber').toBe(10);
    const text = await fetch(`${daemon.url}/metrics`).then((r) => r.text());
    expect(text).toMatch(/^ringstore_sse_subscriptions 500$/m);
    for (const c of subs) c.destroy();
  });

  it('slowloris: 500 connections trickling headers and 500 trickling bodies get 408 and are closed', NOISE, async () => {
    const daemon = await start('--headers-timeout', '2000', '--body-timeout', '4000');
    const health = probe(port);
    await health.ready;
    const slowHeads = await openMany(port, 500);
    const slowBodies = await openMany(port, 500);
    for (const c of slowBodies) void c.write(head('POST', '/streams/res/slow', { 'content-type': 'application/json', 'content-length': 10_000 }));
    const started = Date.now();
    const request = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(200);
    let i = 0;
    // one byte per connection every 500 ms, for 5 s (past both timeouts)
    while (Date.now() - started < 5000) {
      for (const c of slowHeads) void c.write(request[i % request.length]);
      for (const c of slowBodies) void c.write('x');
      i++;
      await sleep(500);
    }
    expectHealthy(await health.stop(), 'slowloris');
    const timedOut = [...slowHeads, ...slowBodies].filter((c) => c.responses[0]?.status === 408 && c.responses[0].json?.error?.code === 'RS_ERR_REQUEST_TIMEOUT');
    expect(timedOut.length).toBe(1000);
    await Promise.all([...slowHeads, ...slowBodies].map((c) => c.closed(3000)));
    expect([...slowHeads, ...slowBodies].filter((c) => c.closedAfter === undefined).length, 'still open').toBe(0);
    const text = await fetch(`${daemon.url}/metrics`).then((r) => r.text());
    expect(Number(/^ringstore_http_refused_total\{reason="timeout"\} (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1000);
  });
});
