// Bulk POST /streams stores each event's own JSON text (ingest/event-json.ts) instead of stringifying what it just
// parsed: the stored text must be byte for byte what JSON.stringify of the record gives, or the event takes the
// stringify path; read back, batches of awkward events are what the client sent (timestamps normalised), whether
// the main thread or an ingest thread appended them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamRecordJsons } from '../../dist/src/server/ingest/event-json.js';
import { streamRecords } from '../../dist/src/server/ingest/stream-records.js';
import { raw, startDaemon, type TestDaemon } from './helpers.js';

const NOW = Date.UTC(2026, 11, 5, 5, 30, 0, 123);

/** Each event's record JSON from the text, checked against JSON.stringify; how many took the text. */
function check(text: string, lines?: string[]): number {
  const events = lines !== undefined ? lines.map((l) => JSON.parse(l)) : JSON.parse(text);
  const { records } = streamRecords('orders/"7"', events, true, undefined, NOW);
  const jsons = streamRecordJsons(records, lines !== undefined ? { kind: 'lines', lines } : { kind: 'array', text }, new Date(NOW).toISOString());
  expect(jsons, text).toBeDefined();
  let taken = 0;
  records.forEach((r, i) => {
    if (jsons![i] === undefined) return;
    taken++;
    expect(jsons![i], text).toBe(JSON.stringify(r));
  });
  return taken;
}

// Text that is not what JSON.stringify writes: the event must be stringified (or its stored bytes would differ).
const NOT_CANONICAL = [
  '{"a":1,"a":2}', '{"n":{"b":1,"b":2}}', '{"1":2,"b":1}', '{"a":"\\u0041"}', '{"a":"\\/"}', '{"a": 1}', '{ "a":1}', '{"a":[1, 2]}',
  '{"a":1.0}', '{"a":1e2}', '{"a":1E-7}', '{"a":-0}', '{"a":1e400}', '{"a":12345678901234567890}', '{"a":"\\u0001"}',
  `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')}}`, `{"deep":${'['.repeat(40)}${']'.repeat(40)}}`,
];
// Canonical text, with and without a timestamp of its own (normalised in place) and nested values.
const CANONICAL = [
  '{}', '{"valor":12,"gatewayId":"gw-1","note":"order created"}', '{"a":1.5,"b":-12,"c":0.1,"d":1e-7,"e":1e+21}',
  '{"x":[1,2,{"y":null}],"z":{"q":true,"r":false},"e":[],"o":{}}', '{"timestamp":1733000000000,"v":1}', '{"v":1,"timestamp":"2024-01-01T00:00:00Z"}',
  '{"timestamp":null}', '{"t":{"timestamp":5}}', '{"é":"ü😀\u2028","q":"x\\n\\"y\\\\\\t\\b\\f\\r"}', '{"ab":1,"ba":2,"a":{"ab":3}}', '{"id":"my-id","constructor":1}',
];

describe('streamRecordJsons', () => {
  it('takes canonical events from a JSON array and NDJSON lines, byte for byte JSON.stringify of the record', () => {
    expect(check(`[${CANONICAL.join(',')}]`)).toBe(CANONICAL.length);
    expect(check(` [ ${CANONICAL.join(' ,\n')} ] `)).toBe(CANONICAL.length); // whitespace between events is not in them
    expect(check('', CANONICAL)).toBe(CANONICAL.length);
  });

  it('leaves every other event to JSON.stringify', () => {
    for (const e of NOT_CANONICAL) {
      expect(check(`[${e}]`), e).toBe(0);
      expect(check('', [e]), e).toBe(0);
      // Its neighbours still take their text.
      expect(check(`[{"v":1},${e},{"v":2}]`), e).toBe(2);
    }
  });

  it('agrees with JSON.stringify on random events, formatting and escapes', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
    const keys = ['"a"', '"b"', '"ab"', '"ba"', '"timestamp"', '"id"', '"1"', '"01"', '"é"', '"\\u00e9"', '"x y"', '"q\\""'];
    const nums = ['0', '-1', '12', '1.5', '1.0', '1e2', '-0', '0.1', '100000000000000000000', '1e21', '123456789012345', '1234567890123456', '5e-7', '-0.0'];
    const strs = ['"x"', '"\\n"', '"\\u0041"', '"\\/"', '"é"', '"\\t\\"\\\\"', '""', '"2024-01-01T00:00:00Z"', '"\u2028"'];
    const ws = (): string => (rnd() < 0.03 ? pick([' ', '\n', '\t']) : '');
    const val = (d: number): string => {
      const r = rnd();
      if (d < 3 && r < 0.15) return obj(d + 1);
      if (d < 3 && r < 0.25) return `[${ws()}${Array.from({ length: Math.floor(rnd() * 3) }, () => val(d + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
      return r < 0.5 ? pick(nums) : r < 0.8 ? pick(strs) : pick(['true', 'false', 'null']);
    };
    const obj = (d: number): string => `{${ws()}${Array.from({ length: Math.floor(rnd() * 5) }, () => `${pick(keys)}${ws()}:${ws()}${val(d)}`).join(`${ws()},${ws()}`)}${ws()}}`;
    let taken = 0;
    let tried = 0;
    while (tried < 3000) {
      const text = `[${Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => obj(1)).join(',')}]`;
      try {
        streamRecords('s', JSON.parse(text), true, undefined, NOW);
      } catch {
        continue; // a timestamp the route refuses
      }
      tried++;
      taken += check(text);
    }
    expect(taken).toBeGreaterThan(1000);
  });
});

describe.each([0, 1])('bulk POST /streams stores what was sent (--ingest-threads %i)', (ingestThreads) => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startDaemon({ ingestThreads });
  });
  afterAll(async () => {
    await d.close();
  });

  it('reads back canonical and other events of a JSON array and of NDJSON as posted, timestamps normalised', async () => {
    // Bodies with a `\u` escape go to the main thread whatever the pool (bulk-body.ts): also post one without.
    for (const [name, all] of [['all', [...CANONICAL, ...NOT_CANONICAL]], ['no-u', [...CANONICAL, ...NOT_CANONICAL].filter((e) => !e.includes('\\u'))]] as const) {
      const expected = all.map((e) => {
        const v = JSON.parse(e);
        const ts = v.timestamp;
        v.timestamp = ts === undefined || ts === null ? undefined : new Date(typeof ts === 'number' ? ts : Date.parse(ts)).toISOString();
        return v;
      });
      for (const [stream, init] of [
        [`bulk/${name}/array`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `[${all.join(',')}]` }],
        [`bulk/${name}/ndjson`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: `${all.join('\n')}\n` }],
      ] as const) {
        const post = await raw(`${d.url}/streams/${stream}`, init);
        expect(post.status).toBe(202);
        expect(post.body).toHaveLength(all.length);
        const read = await raw(`${d.url}/streams/${stream}`);
        expect(read.status).toBe(200);
        const got = read.body as Record<string, unknown>[];
        expect(got).toHaveLength(all.length);
        got.forEach((g, i) => {
          const { id, version, timestamp, ...rest } = g;
          expect(version).toBe(i + 1);
          expect(typeof id).toBe('string');
          // `id` reads back as the server's id (the event's own `id` is its idempotency id).
          const { timestamp: want, id: _ownId, ...wantRest } = expected[i];
          expect(rest, all[i]).toEqual(JSON.parse(JSON.stringify(wantRest)));
          if (want !== undefined) expect(timestamp).toBe(want);
          else expect(typeof timestamp).toBe('string');
        });
      }
    }
  });
});
