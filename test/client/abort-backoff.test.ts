// An abort during a retry's wait (a long Retry-After) ends the call at once, instead of after the wait (whose timer also kept the process alive).
// maxRetryDelayMs is raised past the hour, so the client waits it out instead of failing fast (retry-after-cap.test.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RingstoreClient } from '../../dist/src/client/index.js';

const servers: http.Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** Calls `then` (once) when a timer of an hour or more is set: the client has started to wait out the Retry-After. */
function whenWaitingAnHour(then: () => void): void {
  const real = globalThis.setTimeout;
  let done = false;
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number, ...args: unknown[]) => {
    if (!done && (ms ?? 0) >= 3_600_000) {
      done = true;
      queueMicrotask(then);
    }
    return real(fn, ms, ...args);
  }) as typeof setTimeout);
}

/** Every request: 503 with `Retry-After: 3600` (an hour). */
async function unavailableForAnHour(): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '3600' });
      res.end(JSON.stringify({ error: { code: 'RS_ERR_CLOSED', message: 'shutting down' } }));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('RingstoreClient: abort while waiting to retry', () => {
  it('readPage rejects with the abort reason (the test times out when the client sleeps out the Retry-After)', async () => {
    const ac = new AbortController();
    const url = await unavailableForAnHour();
    whenWaitingAnHour(() => ac.abort(new Error('stop')));
    const c = new RingstoreClient({ baseUrl: url, retries: 3, retryBaseMs: 1, maxRetryDelayMs: 7_200_000 });
    await expect(c.readPage('a', { signal: ac.signal })).rejects.toThrow('stop');
  }, 5_000);

  it('subscribe ends (the test times out when the client sleeps out the Retry-After)', async () => {
    const ac = new AbortController();
    const url = await unavailableForAnHour();
    whenWaitingAnHour(() => ac.abort());
    const c = new RingstoreClient({ baseUrl: url, retries: 3, retryBaseMs: 1, maxRetryDelayMs: 7_200_000 });
    const got: unknown[] = [];
    for await (const e of c.subscribe('a', { signal: ac.signal })) got.push(e);
    expect(got).toEqual([]);
  }, 5_000);
});
