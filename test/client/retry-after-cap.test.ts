// Retry-After on 429/503 is honoured up to maxRetryDelayMs (default 30 s): a longer ask fails fast with the
// server's error instead of sleeping for hours. Retry-After is read as delta-seconds or as an HTTP-date; an
// unparsable or negative one falls back to the client's own backoff.
// No test sleeps: the client's waits are recorded (a setTimeout set from src/client/) and run at once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RingstoreClient, RingstoreHttpError } from '../../dist/src/client/index.js';
import { RingstoreError } from '../../dist/src/index.js';

const servers: http.Server[] = [];
let waits: number[] = [];

/**
 * True when the caller of setTimeout is the client's own code (its waits before a retry), not the HTTP stack
 * (undici also sets timers, from inside the client's fetch calls). Source maps show dist/src/client/*.js as src/client/*.ts.
 */
function calledFromClient(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const frames = (new Error().stack ?? '').split('\n');
  Error.stackTraceLimit = limit;
  const spy = frames.findIndex((f) => /at setTimeout \(.*@vitest\/spy/.test(f));
  return spy >= 0 && /\/src\/client\//.test(frames[spy + 1] ?? '');
}

beforeEach(() => {
  waits = [];
  const real = globalThis.setTimeout;
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number, ...args: unknown[]) => {
    if (calledFromClient()) {
      waits.push(ms ?? 0);
      return real(fn, 0, ...args);
    }
    return real(fn, ms, ...args);
  }) as typeof setTimeout);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** A server whose first `failures` requests get `status` with `Retry-After: retryAfter()` (no header when undefined), then 200. */
async function flaky(retryAfter: () => string | undefined, failures = 1, status = 503): Promise<{ url: string; attempts: () => number }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      if (n <= failures) {
        const value = retryAfter();
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `r-${n}`, ...(value !== undefined ? { 'retry-after': value } : {}) });
        res.end(JSON.stringify({ error: { code: status === 503 ? 'RS_ERR_CLOSED' : 'RS_ERR_INTERNAL', message: 'come back later' } }));
        return;
      }
      if (req.url?.includes('/subscribe')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('event: event\ndata: {"id":"e1","version":1,"timestamp":"2026-01-01T00:00:00.000Z"}\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, attempts: () => n };
}

const client = (url: string, extra: Record<string, unknown> = {}): RingstoreClient => new RingstoreClient({ baseUrl: url, retries: 3, retryBaseMs: 1, ...extra });

describe('Retry-After as delta-seconds', () => {
  it('Retry-After: 1 is waited out (1000 ms) and the retry succeeds', async () => {
    const s = await flaky(() => '1');
    expect(await client(s.url).health()).toBe('OK');
    expect(s.attempts()).toBe(2);
    expect(waits).toEqual([1000]);
  });

  it('Retry-After: 3600 fails fast with the server\'s error (one attempt, no wait), by default', async () => {
    const s = await flaky(() => '3600', 10);
    const err = await client(s.url).health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingstoreHttpError);
    expect(err).toMatchObject({ status: 503, code: 'RS_ERR_CLOSED', message: 'come back later', requestId: 'r-1', details: { retryAfterMs: 3_600_000 } });
    expect(s.attempts()).toBe(1);
    expect(waits).toEqual([]);
  });

  it('429 is capped the same way', async () => {
    const s = await flaky(() => '31', 10, 429);
    await expect(client(s.url).health()).rejects.toMatchObject({ status: 429 });
    expect(s.attempts()).toBe(1);
  });

  it('at the bound: a wait of exactly maxRetryDelayMs is waited, one ms more fails fast', async () => {
    const at = await flaky(() => '1');
    expect(await client(at.url, { maxRetryDelayMs: 1000 }).health()).toBe('OK');
    expect(at.attempts()).toBe(2);
    expect(waits).toEqual([1000]);
    waits = [];
    const over = await flaky(() => '1', 10);
    await expect(client(over.url, { maxRetryDelayMs: 999 }).health()).rejects.toMatchObject({ status: 503, details: { retryAfterMs: 1000 } });
    expect(over.attempts()).toBe(1);
    expect(waits).toEqual([]);
  });

  it('the default bound is 30 s: Retry-After: 30 is waited, 31 fails fast', async () => {
    const at = await flaky(() => '30');
    expect(await client(at.url).health()).toBe('OK');
    expect(waits).toEqual([30_000]);
    const over = await flaky(() => '31', 10);
    await expect(client(over.url).health()).rejects.toMatchObject({ status: 503 });
    expect(over.attempts()).toBe(1);
  });

  it('maxRetryDelayMs: 0 retries at once on Retry-After: 0 and fails fast on Retry-After: 1', async () => {
    const zero = await flaky(() => '0');
    expect(await client(zero.url, { maxRetryDelayMs: 0 }).health()).toBe('OK');
    expect(zero.attempts()).toBe(2);
    expect(waits).toEqual([0]);
    const one = await flaky(() => '1', 10);
    await expect(client(one.url, { maxRetryDelayMs: 0 }).health()).rejects.toMatchObject({ status: 503 });
    expect(one.attempts()).toBe(1);
  });

  it('the client\'s own backoff never waits longer than maxRetryDelayMs either', async () => {
    const s = await flaky(() => undefined, 3);
    expect(await client(s.url, { retryBaseMs: 1000, maxRetryDelayMs: 10 }).health()).toBe('OK');
    expect(s.attempts()).toBe(4);
    expect(waits).toHaveLength(3);
    for (const w of waits) expect(w).toBeLessThanOrEqual(10);
  });

  it('subscribe fails fast too, instead of waiting an hour to reconnect', async () => {
    const s = await flaky(() => '3600', 10);
    const err = await (async () => {
      for await (const _ of client(s.url).subscribe('a')) { /* none */ }
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: 'RS_ERR_CLOSED' });
    expect(s.attempts()).toBe(1);
    expect(waits).toEqual([]);
  });

  it('subscribe waits out a Retry-After within the bound', async () => {
    const s = await flaky(() => '2');
    const got: unknown[] = [];
    for await (const e of client(s.url).subscribe('a', { reconnect: true })) {
      got.push(e);
      break;
    }
    expect(got).toHaveLength(1);
    expect(s.attempts()).toBe(2);
    expect(waits).toEqual([2000]);
  });
});

describe('Retry-After as an HTTP-date', () => {
  it('a date a few seconds ahead is waited out until then', async () => {
    const s = await flaky(() => new Date(Date.now() + 5000).toUTCString());
    expect(await client(s.url).health()).toBe('OK');
    expect(s.attempts()).toBe(2);
    expect(waits).toHaveLength(1);
    // The date has whole seconds: the wait is the 5 s less what was cut off and what the answer took.
    expect(waits[0]).toBeGreaterThan(3000);
    expect(waits[0]).toBeLessThanOrEqual(5000);
  });

  it('a date an hour ahead fails fast', async () => {
    const s = await flaky(() => new Date(Date.now() + 3_600_000).toUTCString(), 10);
    await expect(client(s.url).health()).rejects.toMatchObject({ status: 503, code: 'RS_ERR_CLOSED' });
    expect(s.attempts()).toBe(1);
    expect(waits).toEqual([]);
  });

  it('a date in the past (a negative delay) falls back to the normal backoff', async () => {
    const s = await flaky(() => new Date(Date.now() - 3_600_000).toUTCString());
    expect(await client(s.url).health()).toBe('OK');
    expect(s.attempts()).toBe(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeLessThanOrEqual(1);
  });
});

describe('an unparsable Retry-After falls back to the normal backoff', () => {
  for (const value of ['soon', '-5', '1.5', '1e3', '+3', '0x10', '', 'Sun, 06 Nov 1994 08:49:37', 'Sun, 32 Nov 2094 08:49:37 GMT', 'Sun, 06 Nov 2094 25:49:37 GMT']) {
    it(`Retry-After: ${JSON.stringify(value)}`, async () => {
      const s = await flaky(() => value);
      expect(await client(s.url).health()).toBe('OK');
      expect(s.attempts()).toBe(2);
      expect(waits).toHaveLength(1);
      expect(waits[0]).toBeLessThanOrEqual(1);
    });
  }
});

describe('retryAfterMs (the parser)', () => {
  const now = Date.UTC(1994, 10, 6, 8, 49, 30); // Sun, 06 Nov 1994 08:49:30 GMT
  it('reads delta-seconds and the three HTTP-date forms of RFC 9110', async () => {
    const { retryAfterMs } = await import('../../dist/src/client/retry-after.js');
    expect(retryAfterMs('0', now)).toBe(0);
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 7 ', now)).toBe(7000);
    expect(retryAfterMs('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(7000); // IMF-fixdate
    expect(retryAfterMs('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(7000); // obsolete RFC 850
    expect(retryAfterMs('Sun Nov  6 08:49:37 1994', now)).toBe(7000); // obsolete asctime
    expect(retryAfterMs('Sun, 06 Nov 1994 08:49:30 GMT', now)).toBe(0);
    // RFC 850's two-digit year: more than 50 years ahead means the past century.
    expect(retryAfterMs('Monday, 01-Jan-80 00:00:00 GMT', Date.UTC(2026, 0, 1))).toBeUndefined(); // 2080 is 54 years ahead: 1980, in the past
    expect(retryAfterMs('Friday, 01-Jan-27 00:00:00 GMT', Date.UTC(2026, 0, 1))).toBe(365 * 86_400_000); // 2027
  });

  it('gives undefined for what is absent, unparsable or in the past', async () => {
    const { retryAfterMs } = await import('../../dist/src/client/retry-after.js');
    for (const v of [null, undefined, '', 'soon', '-1', '1.0', 'Sun, 06 Nov 1994 08:49:29 GMT', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 UTC', 'Sun, 06 Foo 1994 08:49:37 GMT']) {
      expect(retryAfterMs(v, now), String(v)).toBeUndefined();
    }
  });
});

describe('maxRetryDelayMs is validated up front', () => {
  it('a non-negative integer up to 2^31-1 (the longest timer) is taken', () => {
    for (const v of [0, 1, 30_000, 2 ** 31 - 1]) expect(() => new RingstoreClient({ maxRetryDelayMs: v } as never)).not.toThrow();
  });
  it('anything else throws RS_ERR_INVALID_OPTION', () => {
    for (const v of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '5', null]) {
      let err: unknown;
      try {
        new RingstoreClient({ maxRetryDelayMs: v } as never);
      } catch (e) {
        err = e;
      }
      expect(err, String(v)).toBeInstanceOf(RingstoreError);
      expect(err, String(v)).toMatchObject({ code: 'RS_ERR_INVALID_OPTION', name: 'InvalidClientOptionError' });
    }
  });
  it('a misspelt append option is refused before any request: { expectedVerson } was dropped and the write sent unconditionally', async () => {
    let requests = 0;
    const c = new RingstoreClient({ baseUrl: 'http://127.0.0.1:9', retries: 0, fetch: (async () => { requests++; throw new Error('no request expected'); }) as never });
    await expect(c.append('s', { type: 'E' }, { expectedVerson: 0 } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION', message: expect.stringMatching(/options\.expectedVerson is not an option/) });
    await expect(c.append('s', { type: 'E' }, null as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
    expect(requests).toBe(0);
  });

  it('a misspelt option is refused, not ignored for its default (timeout for timeoutMs, baseURL for baseUrl)', () => {
    for (const bad of [{ timeout: 5 }, { baseURL: 'http://127.0.0.1:1' }, { maxRetryDelay: 5 }]) {
      expect(() => new RingstoreClient(bad as never), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION', name: 'InvalidClientOptionError', message: expect.stringMatching(`options\\.${Object.keys(bad)[0]} is not an option`) }),
      );
    }
  });
});
