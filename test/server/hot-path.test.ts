// The POST /streams hot path: the append-result serialiser is byte-for-byte JSON.stringify, the hooks still run per
// request, NDJSON lines and JSON bodies skip the safe parser only when they cannot carry a prototype-poisoning key,
// and single events answered from the coalescer's callback keep the contract (results, duplicates, errors).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendResultsJson } from '../../dist/src/server/routes/streams.js';
import { raw, startDaemon, type TestDaemon } from './helpers.js';

describe('appendResultsJson', () => {
  const r = (id: string, duplicate = false) => ({ id, partition: 1, position: 123456789012, version: 7, duplicate });
  it('equals JSON.stringify for one result and for arrays, ids needing escapes included', () => {
    const ids = ['01JBV3Z9Q0ABCDEFGHJKMNPQRS', 'key:3', 'a/b=c~+', 'quote"back\\slash', 'tab\tnl\nctl\u0001', 'ünïcødé', '\u2028', ''];
    for (const id of ids) {
      expect(appendResultsJson(r(id))).toBe(JSON.stringify(r(id)));
      expect(appendResultsJson(r(id, true))).toBe(JSON.stringify(r(id, true)));
    }
    const many = ids.map((id, i) => ({ ...r(id, i % 2 === 0), version: i + 1 }));
    expect(appendResultsJson(many)).toBe(JSON.stringify(many));
    expect(appendResultsJson([])).toBe('[]');
  });
});

describe('POST /streams over HTTP', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startDaemon();
  });
  afterAll(async () => {
    await d.close();
  });

  it('answers batches and single events with parseable results, a request id and a latency sample', async () => {
    const one = await raw(`${d.url}/streams/ser/a`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'ser-1' }, body: JSON.stringify({ id: 'we"ird\\id', valor: 1 }) });
    expect(one.status).toBe(202);
    expect(one.headers.get('x-request-id')).toBe('ser-1');
    expect(one.body).toMatchObject({ id: 'we"ird\\id', version: 1, duplicate: false });
    const many = await raw(`${d.url}/streams/ser/a`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"valor":2}\n{"valor":3}\n' });
    expect(many.status).toBe(202);
    const parsed = many.body as { version: number }[];
    expect(parsed.map((p) => p.version)).toEqual([2, 3]);
    const text = await d.client.prometheus();
    expect(text).toMatch(/ringstore_http_request_duration_seconds_count\{method="POST",route="\/streams\/\*",status_code="202"\} [1-9]/);
  });

  it('NDJSON: prototype-poisoning lines are refused, escaped and plain lines parse, a bad line is named', async () => {
    const nd = (body: string) => raw(`${d.url}/streams/ser/nd`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    for (const bad of ['{"__proto__":{"x":1}}', '{"\\u005f_proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']) {
      const r = await nd(`{"valor":1}\n${bad}\n`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code, bad).toBe('RS_ERR_INVALID_JSON');
      expect(r.body.error.message, bad).toMatch(/^NDJSON line 2 /);
    }
    const bad = await nd('{"valor":1}\n{oops\n');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^NDJSON line 2 is not valid JSON/);
    const ok = await nd('\ufeff{"valor":1,"note":"caf\\u00e9"}\r\n\n{"valor":2,"note":"constructed"}\n');
    expect(ok.status).toBe(202);
    const notes: unknown[] = [];
    for await (const e of d.client.read('ser/nd', { from: 1 })) notes.push((e as { note?: unknown }).note);
    expect(notes).toEqual(['café', 'constructed']);
  });

  it('JSON bodies: prototype-poisoning keys are refused, a BOM, escapes and bad JSON answer as before', async () => {
    const post = (body: string | Buffer) => raw(`${d.url}/streams/ser/js`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const bad of ['{"__proto__":{"x":1}}', '{"\\u005f_proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '[{"valor":1},{"__proto__":{"x":1}}]', '{oops', '{"a":1}}', '"text"']) {
      const r = await post(bad);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code, bad).toMatch(/^RS_ERR_(INVALID_JSON|BAD_REQUEST|VALIDATION)/);
      expect(({} as Record<string, unknown>).x, bad).toBeUndefined();
    }
    expect((await post('{"constructor":"c","valor":1}')).status).toBe(202);
    expect((await post(Buffer.from('\ufeff{"valor":2,"note":"caf\\u00e9"}'))).status).toBe(202);
    const notes: unknown[] = [];
    for await (const e of d.client.read('ser/js', { from: 1 })) notes.push([(e as { constructor?: unknown }).constructor, (e as { note?: unknown }).note]);
    expect(notes).toEqual([['c', undefined], [Object, 'café']]);
  });

  it('single events: a retry is a duplicate with the first result, a bad timestamp is a 400, each counted once', async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      raw(`${d.url}/streams/ser/one`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const before = await d.client.prometheus();
    const count = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const ingested = /ringstore_ingested_events_total\{store="streams",format="json"\} (\d+)/;
    const duplicates = /ringstore_rejected_events_total\{store="streams",reason="duplicate"\} (\d+)/;
    const [a, b, c] = await Promise.all([post({ id: 'k1', valor: 1 }), post({ valor: 2 }, { 'idempotency-key': 'k2' }), post({ valor: 3, timestamp: 'yesterday' })]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(c.status).toBe(400);
    expect(c.body.error.code).toBe('RS_ERR_BAD_REQUEST');
    const again = await post({ id: 'k1', valor: 9 });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ ...(a.body as object), duplicate: true });
    expect(again.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const after = await d.client.prometheus();
    expect(count(after, ingested) - count(before, ingested)).toBe(2);
    expect(count(after, duplicates) - count(before, duplicates)).toBe(1);
  });
});
