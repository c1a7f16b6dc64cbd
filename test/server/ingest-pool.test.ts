// The ingest pool (--ingest-threads): bulk bodies appended by ingest threads
// answer exactly as the main thread does. The same requests go, in the same
// order, to a daemon without the pool and to one with it; every answer and
// every stored event must be the same (generated ids and receive times
// aside), and the pool must have taken the valid batches itself.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpText, parseConfig, resolveConfig } from '../../dist/src/server/index.js';
import { defaultIngestThreads, MAX_INGEST_THREADS } from '../../dist/src/server/ingest/sizing.js';
import { producerSlotsInUse } from '../../dist/src/store/descriptor.js';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';

const MAX_BATCH = 50;
let off: TestDaemon;
let on: TestDaemon;
beforeAll(async () => {
  [off, on] = await Promise.all([startDaemon({ maxBatch: MAX_BATCH, ingestThreads: 0 }), startDaemon({ maxBatch: MAX_BATCH, ingestThreads: 2 })]);
});
afterAll(async () => {
  await Promise.all([off?.close(), on?.close()]);
});

const pool = () => on.server.context.ingest!;
const ndjson = (text: string, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers }, body: text });
const bytes = (b: Buffer, type = 'application/json'): RequestInit => ({ method: 'POST', headers: { 'content-type': type }, body: b });
const events = (n: number, from = 0): Record<string, unknown>[] => Array.from({ length: n }, (_, i) => ({ valor: from + i, gatewayId: `g${i % 3}`, n: from + i }));

/** Generated ULIDs and receive times differ between the two daemons: everything else must not. */
function normalise(body: unknown): string {
  const now = Date.now();
  return JSON.stringify(body)
    .replace(/"[0-9A-HJKMNP-TV-Z]{26}"/g, '"<ulid>"')
    .replace(/"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"/g, (m, iso: string) => (Math.abs(Date.parse(iso) - now) < 600_000 ? '"<now>"' : m));
}

/** Sends one request to both daemons; their answers must be the same. Returns the pooled daemon's. */
async function both(path: string, init: () => RequestInit): Promise<{ status: number; body: any }> {
  const a = await raw(`${off.url}${path}`, init());
  const b = await raw(`${on.url}${path}`, init());
  expect({ status: b.status, body: normalise(b.body) }, `${init().method} ${path}`).toEqual({ status: a.status, body: normalise(a.body) });
  expect(b.headers.get('content-type'), path).toBe(a.headers.get('content-type'));
  return b;
}

describe('a daemon with ingest threads answers as one without', () => {
  it('valid JSON-array and NDJSON batches: same results, stored by the pool', async () => {
    const stored0 = pool().outcomes.stored;
    expect((await both('/streams/eq/a', () => json([{ id: 'a-1', valor: 1 }, { id: 'a-2', valor: 2, timestamp: '2020-01-02T03:04:05+01:00' }, { valor: 3, timestamp: 1_600_000_000_000 }]))).status).toBe(202);
    expect((await both('/streams/eq/a', () => ndjson('{"valor":4}\r\n\n  {"valor":5,"type":"t"}  \n{"id":"a-6","timestamp":null}'))).status).toBe(202);
    expect((await both('/streams/eq/b', () => json(events(MAX_BATCH)))).status).toBe(202);
    expect((await both('/streams/eq/b', () => json(` \n\t${JSON.stringify(events(2))}`))).status).toBe(202);
    expect(pool().outcomes.stored - stored0).toBe(4);
  });

  it('idempotency: event ids and Idempotency-Key (with :i per event); a retry is a duplicate with the first result', async () => {
    const first = await both('/streams/eq/idem', () => json([{ id: 'i-1', valor: 1 }, { valor: 2 }]));
    const retry = await both('/streams/eq/idem', () => json([{ id: 'i-1', valor: 1 }]));
    expect(retry.body[0]).toMatchObject({ id: 'i-1', version: first.body[0].version, duplicate: true });
    const keyed = await both('/streams/eq/idem', () => json(events(3), { 'idempotency-key': 'k-1' }));
    expect(keyed.body.map((r: { id: string }) => r.id)).toEqual(['k-1:0', 'k-1:1', 'k-1:2']);
    const again = await both('/streams/eq/idem', () => ndjson(events(3).map((e) => JSON.stringify(e)).join('\n'), { 'idempotency-key': 'k-1' }));
    expect(again.body.every((r: { duplicate: boolean }) => r.duplicate)).toBe(true);
    // Two events with one id in one batch: the store refuses the call (400), nothing stored.
    expect((await both('/streams/eq/idem', () => json([{ id: 'same', valor: 1 }, { id: 'same', valor: 2 }]))).body.error.code).toBe('RS_ERR_INVALID_ARGUMENT');
  });

  it('expected version: a batch at the right version is stored whole; at the wrong one 409 and nothing', async () => {
    expect((await both('/streams/eq/ev', () => json(events(3), { 'expected-version': '0' }))).status).toBe(202);
    const conflict = await both('/streams/eq/ev?expectedVersion=1', () => json(events(3)));
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'RS_ERR_CONFLICT', expected: 1, actual: 3 });
    expect((await both('/streams/eq/ev', () => ndjson('{"valor":1}\n{"valor":2}', { 'expected-version': '3' }))).status).toBe(202);
    expect((await both('/streams/eq/ev', () => json(events(1), { 'expected-version': '3' }))).body.error.code).toBe('RS_ERR_CONFLICT');
  });

  it('bad batches: the same 4xx, in the same order of checks, and nothing stored', async () => {
    const fallback0 = pool().outcomes.fallback;
    const cases: [string, () => RequestInit, number][] = [
      ['/streams/eq/bad', () => json([{ valor: 1 }, { valor: 'x' }]), 400],
      ['/streams/eq/bad', () => json([{ valor: 1 }, 7]), 400],
      ['/streams/eq/bad', () => json([{ valor: 1 }, [{ valor: 2 }]]), 400],
      ['/streams/eq/bad', () => json([]), 400],
      ['/streams/eq/bad', () => json([{ valor: 1, timestamp: '2020-02-30' }]), 400],
      ['/streams/eq/bad', () => json([{ valor: 1, timestamp: '' }]), 400],
      ['/streams/eq/bad', () => json([{ valor: 1, timestamp: 'x'.repeat(65) }]), 400],
      ['/streams/eq/bad', () => json([{ id: 'x'.repeat(257) }]), 400],
      ['/streams/eq/bad', () => json([{ id: '' }]), 400],
      ['/streams/eq/bad', () => json([{ id: 5 }]), 400],
      ['/streams/eq/bad', () => json([{ gatewayId: 5 }]), 400],
      ['/streams/eq/bad', () => json('[{"valor":1e999}]'), 400],
      ['/streams/eq/bad', () => json(events(MAX_BATCH + 1)), 413],
      ['/streams/eq/bad', () => ndjson(events(MAX_BATCH + 1).map((e) => JSON.stringify(e)).join('\n')), 413],
      ['/streams/eq/bad', () => json([{ valor: 1, big: 'x'.repeat(70_000) }]), 413],
      ['/streams/eq/bad', () => json('[{"valor":1},'), 400],
      ['/streams/eq/bad', () => json('[{"valor":1}] x'), 400],
      ['/streams/eq/bad', () => json('[{"__proto__":{"polluted":1}}]'), 400],
      ['/streams/eq/bad', () => json('[{"constructor":{"prototype":{"polluted":1}}}]'), 400],
      ['/streams/eq/bad', () => ndjson('{"valor":1}\n{"valor":\n'), 400],
      ['/streams/eq/bad', () => ndjson('\n \n'), 400],
      ['/streams/eq/bad', () => ndjson('[{"valor":1}]'), 400],
      ['/streams/eq/bad', () => bytes(Buffer.concat([Buffer.from('[{"valor":1,"s":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')])), 400],
      // A byte-order mark: fastify's JSON parser skips it (the body is not '['-first, so the main thread has it).
      ['/streams/eq/bad', () => bytes(Buffer.from('\ufeff[{"valor":1}]')), 202],
      ['/streams/eq/bad', () => bytes(Buffer.from('[{"valor":1}]'), 'application/json; charset=latin1'), 415],
      ['/streams/eq/bad', () => bytes(Buffer.from('{"valor":1}\n'), 'application/x-ndjson; charset=utf-16'), 415],
      // A bad header or query string with a good body: its own 400; with a bad body too: the body's.
      ['/streams/eq/bad', () => json(events(2), { 'expected-version': 'x' }), 400],
      ['/streams/eq/bad', () => json([{ valor: 'x' }], { 'expected-version': 'x' }), 400],
      ['/streams/eq/bad', () => json(events(2), { 'idempotency-key': 'k'.repeat(201) }), 400],
      ['/streams/eq/bad?expectedVersion=x', () => json(events(2)), 400],
      ['/streams/eq/bad?expectedVersion=x', () => json([{ valor: 'x' }]), 400],
      ['/streams/eq/bad?expectedVersion=1', () => json(events(2), { 'expected-version': '2' }), 400],
      ['/streams/eq//bad', () => json(events(2)), 400],
      ['/streams/eq//bad', () => ndjson('{"valor":"x"}'), 400],
    ];
    for (const [path, init, status] of cases) expect((await both(path, init)).status, `${path} ${String(init().body).slice(0, 60)}`).toBe(status);
    expect(await both('/streams/eq/bad', () => ({ method: 'GET' }))).toMatchObject({ status: 200, body: [{ valor: 1, version: 1 }] });
    expect(pool().outcomes.fallback - fallback0).toBeGreaterThan(10);
  });

  it('escapes and odd keys the threads leave to the main thread are still stored', async () => {
    expect((await both('/streams/eq/esc', () => json('[{"valor":1,"note":"caf\\u00e9"}]'))).status).toBe(202);
    expect((await both('/streams/eq/esc', () => ndjson('{"constructor":"c","valor":2}'))).status).toBe(202);
    expect((await both('/streams/eq/esc', () => json([{ valor: 3, note: 'žluťoučký kůň', id: 'é'.repeat(256) }]))).status).toBe(202);
  });

  it('POST /metrics batches: 202 and the same sums; bad ones the same 400', async () => {
    const stored0 = pool().outcomes.stored;
    expect((await both('/metrics', () => json([{ label: 'eq-cpu', value: 1 }, { label: 'eq-cpu', value: 2, timestamp: '2030-01-01' }]))).status).toBe(202);
    expect((await both('/metrics', () => ndjson('{"label":"eq-cpu","value":3}\n{"label":"eq-mem","value":4,"timestamp":null}\n'))).status).toBe(202);
    expect(pool().outcomes.stored - stored0).toBe(2);
    for (const init of [
      () => json([{ label: 'eq-cpu' }]),
      () => json([{ label: 'eq-cpu', value: '1' }]),
      () => json([{ label: '', value: 1 }]),
      () => json([{ label: 'x'.repeat(1025), value: 1 }]),
      () => json('[{"label":"eq-cpu","value":1e999}]'),
      () => json([{ label: 'eq-cpu', value: 1 }, { label: 'eq-cpu', value: 1, timestamp: 'nope' }]),
      () => json([]),
      () => json(Array.from({ length: MAX_BATCH + 1 }, () => ({ label: 'eq-cpu', value: 1 }))),
      () => ndjson('{"label":"eq-cpu","value":1}\nnope'),
      // An unknown field (a misspelt timestamp would otherwise be dropped and the receive time stored).
      () => json([{ label: 'eq-cpu', value: 1 }, { label: 'eq-cpu', value: 1, timestmap: 1 }]),
      () => ndjson('{"label":"eq-cpu","value":1,"ts":5}'),
    ]) {
      expect((await both('/metrics', init)).status, String(init().body).slice(0, 60)).toBeGreaterThanOrEqual(400);
    }
    await Promise.all([off.server.context.stores.metrics.flush(), on.server.context.stores.metrics.flush()]);
    for (const label of ['eq-cpu', 'eq-mem']) expect((await both(`/metrics/sum?label=${label}&from=0&to=4102444800000`, () => ({ method: 'GET' }))).body).toBe(label === 'eq-cpu' ? 6 : 4);
  });

  it('every stream holds the same events on both daemons', async () => {
    for (const s of ['eq/a', 'eq/b', 'eq/idem', 'eq/ev', 'eq/bad', 'eq/esc']) await both(`/streams/${s}`, () => ({ method: 'GET' }));
    const prom = async (d: TestDaemon) => (await (await fetch(`${d.url}/metrics`)).text()).split('\n').filter((l) => /^ringstore_(ingested|rejected)_events_total/.test(l)).sort();
    expect(await prom(on)).toEqual(await prom(off));
  });
});

describe('the ingest threads', () => {
  it.each(['off', 'on'])('concurrent batches to one stream (%s): every event stored once, versions 1..N without a gap', async (which) => {
    const d = which === 'on' ? on : off;
    const batches = 40;
    const per = 25;
    const answers = await Promise.all(Array.from({ length: batches }, (_, b) =>
      raw(`${d.url}/streams/conc/one`, b % 2 === 0 ? json(events(per, b * per)) : ndjson(events(per, b * per).map((e) => JSON.stringify(e)).join('\n')))));
    expect(answers.map((a) => a.status)).toEqual(Array(batches).fill(202));
    const page = (await raw(`${d.url}/streams/conc/one`)).body as { n: number; version: number }[];
    expect(page.map((e) => e.version)).toEqual(Array.from({ length: batches * per }, (_, i) => i + 1));
    expect(page.map((e) => e.n).sort((a, b) => a - b)).toEqual(Array.from({ length: batches * per }, (_, i) => i));
    // Each answer's versions are contiguous: a batch is appended as one.
    for (const a of answers) {
      const v = (a.body as { version: number }[]).map((r) => r.version);
      expect(v).toEqual(Array.from({ length: per }, (_, i) => v[0] + i));
    }
  });

  it.runIf(process.platform === 'linux')('are named rs-ingest-<threadId> (top -H, per-thread CPU)', () => {
    const names = readdirSync('/proc/self/task').map((t) => { try { return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim(); } catch { return ''; } });
    expect(names.filter((n) => /^rs-ingest-\d+$/.test(n)).length).toBeGreaterThanOrEqual(2);
  });

  it('a thread killed more times than there are producer slots: each replacement attaches, its slots are freed, every batch goes through the pool', async () => {
    const d = await startDaemon({ ingestThreads: 1 });
    try {
      const p = d.server.context.ingest!;
      const { streams, metrics } = d.server.context.stores;
      const inUse = (): number[] => [producerSlotsInUse(streams.descriptor()), producerSlotsInUse(metrics.descriptor())];
      const post = async (k: number): Promise<void> => {
        const stored0 = p.outcomes.stored;
        const r = await raw(`${d.url}/streams/kills/s`, json(events(5, k * 5)));
        expect(r.status, `batch ${k}: ${JSON.stringify(r.body)}`).toBe(202);
        expect(p.outcomes.stored - stored0, `batch ${k} was stored by an ingest thread`).toBe(1);
        // The coordinator's slot and the live thread's: nothing left behind by the threads before it.
        expect(inUse(), `batch ${k}`).toEqual([2, 2]);
      };
      await post(0);
      // Without freeing, each kill leaks one slot per store and the 16th replacement cannot attach.
      const kills = streams.options.maxProducers;
      for (let k = 1; k <= kills; k++) {
        const [before] = p.threadIds;
        await p.terminateThread(0);
        // piscina starts the replacement when the old thread's 'exit' is seen; the slots are freed on the same event.
        for (let spins = 0; p.threadIds.length !== 1 || p.threadIds[0] === before; spins++) {
          if (spins > 2_000) throw new Error(`no replacement for ingest thread ${before}`);
          await new Promise((r) => setTimeout(r, 10));
        }
        await post(k);
      }
      expect(p.slotsFreed).toBe(2 * kills);
      const page = (await raw(`${d.url}/streams/kills/s`)).body as { version: number; n: number }[];
      expect(page.map((e) => e.version)).toEqual(Array.from({ length: (kills + 1) * 5 }, (_, i) => i + 1));
      expect(page.map((e) => e.n)).toEqual(Array.from({ length: (kills + 1) * 5 }, (_, i) => i));
    } finally {
      await d.close();
    }
  }, 120_000);

  it('close() waits for batches in flight; later requests are refused, none is lost or hangs', async () => {
    const d = await startDaemon({ ingestThreads: 1 });
    const inflight = Array.from({ length: 20 }, (_, i) => raw(`${d.url}/streams/closing/s`, json(events(20, i * 20))).catch(() => ({ status: 0, body: null })));
    await new Promise((r) => setTimeout(r, 5));
    await d.close();
    const statuses = (await Promise.all(inflight)).map((a) => a.status);
    for (const s of statuses) expect([0, 202, 503]).toContain(s);
  });
});

describe('--ingest-threads', () => {
  it('flag, environment, bounds; 0 = no pool', () => {
    expect((parseConfig(['--ingest-threads', '3']) as { ingestThreads: number }).ingestThreads).toBe(3);
    expect((parseConfig([], { RINGSTORE_INGEST_THREADS: '2' }) as { ingestThreads: number }).ingestThreads).toBe(2);
    expect((parseConfig(['--ingest-threads=0']) as { ingestThreads: number }).ingestThreads).toBe(0);
    expect(() => parseConfig(['--ingest-threads', String(MAX_INGEST_THREADS + 1)])).toThrow(/--ingest-threads must be an integer between 0 and 15/);
    expect(() => parseConfig(['--ingest-threads', '-1'])).toThrow(/--ingest-threads/);
    expect(() => resolveConfig({ ingestThreads: 1.5 })).toThrow(/ingest threads/);
    expect(helpText()).toMatch(/--ingest-threads <n>/);
    expect(helpText()).toMatch(/env RINGSTORE_INGEST_THREADS/);
  });

  it('is off under --nats (appends go through the JetStream log), and asking for it there is refused', () => {
    expect((parseConfig(['--nats', 'nats://127.0.0.1:4222']) as { ingestThreads: number }).ingestThreads).toBe(0);
    expect(() => parseConfig(['--nats', 'nats://127.0.0.1:4222', '--ingest-threads', '1'])).toThrow(/--ingest-threads cannot be used with --nats/);
  });

  it('defaults to the cores left after the main thread and the partitions, 0 on 2 cores', () => {
    expect(defaultIngestThreads(2, 2)).toBe(0);
    expect(defaultIngestThreads(2, 1)).toBe(0);
    expect(defaultIngestThreads(8, 4)).toBe(3);
    expect(defaultIngestThreads(32, 8)).toBe(MAX_INGEST_THREADS);
    expect(resolveConfig({ partitions: 64 }).ingestThreads).toBe(0);
  });
});
