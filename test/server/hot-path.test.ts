// The POST /streams hot path: the append-result serialiser is byte-for-byte JSON.stringify, the hooks still run per
// request, and NDJSON lines skip the safe parser only when they cannot carry a prototype-poisoning key.
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
});
