// One rule for time values and one for charsets, on every route; empty JSON bodies; HEAD on a subscription.
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';
import { head, rawConnect } from './raw-http.js';

let d: TestDaemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d.close();
});

const expectError = (r: { status: number; body: any }, status: number, code: string, what: string): void => {
  expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(status);
  expect(r.body?.error?.code, what).toBe(code);
};

/** Every route that takes a time in its query string, with the parameter. */
const timeQueries = [
  '/metrics/sum?label=cpu&from=', '/metrics/sum?label=cpu&to=',
  '/metrics/window?from=', '/metrics/window?to=',
  '/metrics/top?k=3&from=', '/metrics/top?k=3&to=',
  '/metrics/aggregate-zero-alloc?from=', '/metrics/aggregate-zero-alloc?to=',
];
const outOfRange = ['1e300', '-1e300', '8640000000000001', '-8640000000000001', '1e16', '2020-02-30', '2019-02-29', '2020-01-01T24:00:00Z', 'tomorrow'];

describe('time values', () => {
  it('a time beyond ±8.64e15 or not a real date is a 400 on every route that takes times, never a 500', async () => {
    for (const q of timeQueries) {
      for (const v of outOfRange) expectError(await raw(`${d.url}${q}${encodeURIComponent(v)}`), 400, 'RS_ERR_BAD_REQUEST', `${q}${v}`);
      expect((await raw(`${d.url}${q}8640000000000000`)).status, `${q} at the bound`).toBe(200);
      expect((await raw(`${d.url}${q}`)).status, `${q} empty = absent`).toBe(200);
    }
    for (const v of outOfRange) {
      expectError(await raw(`${d.url}/admin/purge?olderThan=${encodeURIComponent(v)}`, { method: 'POST' }), 400, 'RS_ERR_BAD_REQUEST', `purge ${v}`);
    }
  });

  it('POST /streams and POST /metrics apply the same rule to timestamps', async () => {
    const bad: unknown[] = [1e300, -1e300, -1e20, 8.64e15 + 1, '2020-02-30', '2020-13-01', '2021-02-29T00:00:00Z', '', 'soon', true, {}];
    for (const ts of bad) {
      expectError(await raw(`${d.url}/streams/rule/a`, json({ valor: 1, timestamp: ts })), 400, 'RS_ERR_BAD_REQUEST', `streams ${JSON.stringify(ts)}`);
      expectError(await raw(`${d.url}/metrics`, json({ label: 'rule', value: 1, timestamp: ts })), 400, 'RS_ERR_BAD_REQUEST', `metrics ${JSON.stringify(ts)}`);
    }
    expect((await d.client.readPage('rule/a')).events).toEqual([]);
    expect(await d.client.metrics.sum('rule')).toBe(0);
    // Accepted alike: the bounds, an offset, a date alone, a time before 1901.
    const good: [unknown, string][] = [
      [8.64e15, '+275760-09-13T00:00:00.000Z'], [-8.64e15, '-271821-04-20T00:00:00.000Z'], ['2024-02-29T12:00:00+02:00', '2024-02-29T10:00:00.000Z'],
      ['2024-03-01', '2024-03-01T00:00:00.000Z'], ['1850-06-01T00:00:00Z', '1850-06-01T00:00:00.000Z'], [-1, '1969-12-31T23:59:59.999Z'],
    ];
    for (const [ts, iso] of good) {
      expect((await raw(`${d.url}/streams/rule/b`, json({ valor: 1, timestamp: ts }))).status).toBe(202);
      expect((await raw(`${d.url}/metrics`, json({ label: `rule-${iso}`, value: 1, timestamp: ts }))).status).toBe(202);
    }
    const page = await d.client.readPage('rule/b');
    expect(page.events.map((e) => (e as { timestamp: string }).timestamp)).toEqual(good.map(([, iso]) => iso));
    const ms = Date.parse('2024-02-29T10:00:00.000Z');
    expect(await d.client.metrics.sum('rule-2024-02-29T10:00:00.000Z', { from: ms, to: ms })).toBe(1);
  });

  it('absent, null and the reference default(DateTime) mean the receive time, on both routes', async () => {
    const before = Date.now();
    for (const ts of [undefined, null, '0001-01-01T00:00:00', '0001-01-01T00:00:00Z']) {
      expect((await raw(`${d.url}/streams/rule/c`, json({ valor: 1, ...(ts !== undefined ? { timestamp: ts } : {}) }))).status).toBe(202);
      expect((await raw(`${d.url}/metrics`, json({ label: 'rule-now', value: 1, ...(ts !== undefined ? { timestamp: ts } : {}) }))).status).toBe(202);
    }
    const after = Date.now();
    for (const e of (await d.client.readPage('rule/c')).events) {
      const t = Date.parse((e as { timestamp: string }).timestamp);
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
    expect(await d.client.metrics.sum('rule-now', { from: before, to: after })).toBe(4);
  });
});

describe('charsets', () => {
  const post = (path: string, type: string, body: string | Buffer) => raw(`${d.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('a charset other than UTF-8 is 415 on JSON and NDJSON bodies; UTF-8 in any spelling is accepted', async () => {
    for (const type of ['application/json; charset=utf-16', 'application/json;charset="UTF-16LE"', 'application/json; charset=latin1', 'application/x-ndjson; charset=iso-8859-1', 'application/json; charset=']) {
      for (const path of ['/streams/cs/a', '/metrics', '/sessions']) {
        expectError(await post(path, type, '{"label":"cs","value":1,"stream":"A/1"}'), 415, 'RS_ERR_UNSUPPORTED_MEDIA_TYPE', `${path} ${type}`);
      }
    }
    for (const type of ['application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json;charset=utf8', 'application/x-ndjson; charset=UTF-8']) {
      expect((await post('/streams/cs/b', type, '{"valor":1}')).status, type).toBe(202);
    }
    expect((await d.client.readPage('cs/a')).events).toEqual([]);
  });

  it('a UTF-16 body is refused, not read as UTF-8; bytes that are not UTF-8 are 400', async () => {
    const utf16 = Buffer.from('{"valor":1}', 'utf16le');
    expectError(await post('/streams/cs/c', 'application/json; charset=utf-16le', utf16), 415, 'RS_ERR_UNSUPPORTED_MEDIA_TYPE', 'utf-16 body');
    expectError(await post('/streams/cs/c', 'application/json', utf16), 400, 'RS_ERR_INVALID_JSON', 'utf-16 body, no charset');
    const latin1 = Buffer.from('{"note":"caf\xe9"}', 'latin1');
    expectError(await post('/streams/cs/c', 'application/json', latin1), 400, 'RS_ERR_INVALID_JSON', 'latin-1 bytes');
    expectError(await post('/streams/cs/c', 'application/x-ndjson', Buffer.concat([Buffer.from('{"v":1}\n'), latin1])), 400, 'RS_ERR_INVALID_JSON', 'latin-1 NDJSON line');
    expect((await d.client.readPage('cs/c')).events).toEqual([]);
    expect((await post('/streams/cs/d', 'application/json', Buffer.from('{"note":"café ☕ 𝄞"}', 'utf8'))).status).toBe(202);
    expect(((await d.client.readPage('cs/d')).events[0] as { note: string }).note).toBe('café ☕ 𝄞');
  });
});

describe('content encodings', () => {
  const send = (path: string, type: string, encoding: string, body: string | Buffer) =>
    raw(`${d.url}${path}`, { method: 'POST', headers: { 'content-type': type, 'content-encoding': encoding }, body });

  it('a compressed body is 415 (not "invalid UTF-8"), and a plain body labelled compressed is refused, not stored', async () => {
    const gz = gzipSync(Buffer.from('{"valor":1,"label":"enc","value":1,"stream":"Enc/1"}'));
    for (const path of ['/streams/enc/a', '/metrics', '/sessions']) {
      for (const encoding of ['gzip', 'deflate', 'br', 'GZIP', 'gzip, identity']) {
        expectError(await send(path, 'application/json', encoding, gz), 415, 'RS_ERR_UNSUPPORTED_MEDIA_TYPE', `${path} ${encoding} (gzip bytes)`);
        expectError(await send(path, 'application/json', encoding, '{"valor":1,"label":"enc","value":1,"stream":"Enc/1"}'), 415, 'RS_ERR_UNSUPPORTED_MEDIA_TYPE', `${path} ${encoding} (plain bytes)`);
      }
    }
    expectError(await send('/streams/enc/a', 'application/x-ndjson', 'gzip', '{"valor":1}\n{"valor":2}\n'), 415, 'RS_ERR_UNSUPPORTED_MEDIA_TYPE', 'ndjson');
    expectError(await send('/streams/enc/a', 'application/json', 'gzip', '[{"valor":1},{"valor":2}]'), 415, 'RS_ERR_UNSUPPORTED_MEDIA_TYPE', 'json array');
    expect((await d.client.readPage('enc/a')).events).toEqual([]);
    expect(await d.client.metrics.sum('enc')).toBe(0);
    // identity is no encoding.
    expect((await send('/streams/enc/b', 'application/json', 'identity', '{"valor":1}')).status).toBe(202);
    expect((await d.client.readPage('enc/b')).events).toHaveLength(1);
  });
});

describe('POST /metrics fields', () => {
  it('an unknown field is 400 and stores nothing: a misspelt timestamp is not replaced by the receive time', async () => {
    for (const body of [{ label: 'mf', value: 1, timestmap: 1 }, { label: 'mf', value: 1, extra: true }, [{ label: 'mf', value: 1 }, { label: 'mf', value: 2, time: 5 }]]) {
      const r = await raw(`${d.url}/metrics`, json(body));
      expectError(r, 400, 'RS_ERR_BAD_REQUEST', JSON.stringify(body));
      expect(r.body.error.message).toMatch(/additional properties/);
    }
    await d.server.context.stores.metrics.flush();
    expect(await d.client.metrics.sum('mf')).toBe(0);
    expect((await raw(`${d.url}/metrics`, json({ label: 'mf', value: 1, timestamp: 5 }))).status).toBe(202);
  });
});

describe('stream names and URLs', () => {
  /** A request sent with its path as written (fetch would resolve the dot segments first). */
  const asWritten = (method: string, path: string, body?: string): Promise<{ status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: d.server.port, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('a stream name with a "." or ".." segment is 400 from a raw client, and the client refuses it before sending', async () => {
    expect((await raw(`${d.url}/streams/dots/kept`, json({ valor: 1 }))).status).toBe(202);
    for (const path of ['/streams/a/../b', '/streams/a/./b', '/streams/..', '/streams/a/..', '/streams/a/%2E%2E/b', '/streams/a/%2e/b']) {
      expectError(await asWritten('POST', path, '{"valor":1}'), 400, 'RS_ERR_BAD_REQUEST', `POST ${path}`);
      expectError(await asWritten('GET', path), 400, 'RS_ERR_BAD_REQUEST', `GET ${path}`);
    }
    // Names that only look like dots are names.
    expect((await asWritten('POST', '/streams/a/.../b', '{"valor":1}')).status).toBe(202);
    expect((await d.client.readPage('a/.../b')).events).toHaveLength(1);
    // The typed client: append('../admin/clear') used to post to /admin/clear and clear both stores.
    await expect(d.client.append('../admin/clear', { valor: 1 })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    await expect(d.client.readPage('x/../../health')).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    expect((await d.client.readPage('dots/kept')).events).toHaveLength(1);
    const s = await d.client.openSession('Dots/1');
    await expect(s.versionOf('..')).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    await s.close();
  });
});

describe('routes without a body', () => {
  it('refuse a body that carries something, and do nothing: a purge cutoff in the body no longer purges with the default', async () => {
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    expect((await raw(`${d.url}/metrics`, json({ label: 'keep', value: 7, timestamp: twoHoursAgo }))).status).toBe(202);
    expect((await raw(`${d.url}/streams/keep/a`, json({ valor: 1 }))).status).toBe(202);
    await d.server.context.stores.metrics.flush();
    const bodies: [string, string][] = [
      ['/admin/purge', '{"olderThan":"2020-01-01T00:00:00Z"}'],
      ['/admin/purge', '{"olderThanMinutes":525600}'],
      ['/admin/clear', '{"stream":"keep/a"}'],
      ['/admin/reset', '{"label":"other"}'],
      ['/admin/purge', '[1]'],
      ['/admin/purge', '"x"'],
      ['/admin/purge', '0'],
    ];
    for (const [path, body] of bodies) {
      const r = await raw(`${d.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expectError(r, 400, 'RS_ERR_BAD_REQUEST', `${path} ${body}`);
      expect(r.body.error.message, path).toMatch(/takes no body/);
    }
    expect(await d.client.metrics.sum('keep')).toBe(7);
    expect((await d.client.readPage('keep/a')).events).toHaveLength(1);
    // Nothing in the body is nothing: accepted, as an empty body is (the cutoff from the query string).
    for (const body of ['{}', 'null', ' { } ']) {
      const r = await raw(`${d.url}/admin/purge?olderThan=2020-01-01T00:00:00Z`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(r.status, body).toBe(200);
      expect(r.body.purgedBefore, body).toBe('2020-01-01T00:00:00.000Z');
    }
    expect(await d.client.metrics.sum('keep')).toBe(7);
    // The same on DELETE routes: the session stays open.
    const s = await d.client.openSession('Bodyless/1');
    const del = await raw(`${d.url}/sessions/${s.sessionId}`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: '{"force":true}' });
    expectError(del, 400, 'RS_ERR_BAD_REQUEST', 'DELETE session with a body');
    expect(await s.version()).toBe(0);
    await s.close();
  });
});

describe('empty bodies', () => {
  it('a body-less POST with Content-Type: application/json and an empty body is accepted (as the reference)', async () => {
    for (const path of ['/admin/purge', '/admin/clear', '/admin/reset', '/admin/purge?olderThanMinutes=5']) {
      for (const type of ['application/json', 'application/json; charset=utf-8', 'application/x-ndjson']) {
        const r = await raw(`${d.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body: '' });
        expect(r.status, `${path} ${type}: ${JSON.stringify(r.body)}`).toBe(200);
      }
    }
    const s = await d.client.openSession('Empty/1');
    const renew = await raw(`${d.url}/sessions/${s.sessionId}/renew`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(renew.status).toBe(200);
    await s.close();
  });

  it('routes that need a body answer 400 to an empty one', async () => {
    for (const path of ['/streams/empty/a', '/metrics', '/sessions']) {
      const r = await raw(`${d.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
      expect(r.status, path).toBe(400);
      expect(r.body.error.code).toBe('RS_ERR_BAD_REQUEST');
    }
  });
});

describe('HEAD /streams/{stream}/subscribe', () => {
  it('answers at once with the event-stream headers and opens no subscription', async () => {
    const gauge = async (): Promise<number> => Number(/^ringstore_sse_subscriptions (\d+)/m.exec(await d.client.prometheus())?.[1]);
    expect(await gauge()).toBe(0);
    const c = await rawConnect(d.server.port);
    c.expectBodiless();
    await c.write(head('HEAD', '/streams/head/x/subscribe'));
    const t0 = performance.now();
    const r = await c.response(1, 2000);
    expect(r?.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(r!.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(await gauge()).toBe(0);
    // the connection is free for the next request
    await c.write(head('GET', '/health'));
    expect((await c.response(2, 2000))?.status).toBe(200);
    c.destroy();
    expect((await raw(`${d.url}/streams/head//subscribe`, { method: 'HEAD' })).status).toBe(400);
  });
});
