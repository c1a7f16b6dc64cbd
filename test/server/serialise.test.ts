// The append-result serialiser of POST /streams is byte-for-byte JSON.stringify, and the hooks still run per request.
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
});
