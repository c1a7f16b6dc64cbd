// `ringstore serve --nats` (issue 13): the /streams and /metrics ring stores on JetStream. A POST on one
// daemon is one JetStream message per batch; every daemon applies the log to its own memory, so a write
// on A is read on B; expected versions and idempotency ids mean the same on both; a daemon that starts
// late catches up before /ready is 200; the log keeps what the ring's capacity says. Own nats-server.
import { spawn } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSingleServer, type NatsServerProcess } from '../nats/server.js';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';
import { freePort, MAIN } from './process.js';

let nats: NatsServerProcess;
let a: TestDaemon;
let b: TestDaemon;
const CAPACITY = 4096;
beforeAll(async () => {
  nats = await startSingleServer();
  a = await startDaemon({ nats: [nats.url], capacity: CAPACITY });
  b = await startDaemon({ nats: [nats.url], capacity: CAPACITY });
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([a?.close(), b?.close()]);
  await nats?.stop();
});

/** Polls `fn` until it returns true (B applies A's writes a few ms later). */
async function eventually(fn: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const page = async (url: string, stream: string): Promise<unknown[]> => (await raw(`${url}/streams/${stream}`)).body as unknown[];

async function jsInfo(stream: string): Promise<{ messages: number; maxMsgs: number; discard: string }> {
  const nc = await connect({ servers: [nats.url] });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    return { messages: info.state.messages, maxMsgs: info.config.max_msgs, discard: info.config.discard };
  } finally {
    await nc.close();
  }
}

describe('ring stores shared through JetStream (--nats)', () => {
  it('a batch posted on A is one JetStream message, read on B with the same ids, positions and versions', async () => {
    const before = (await jsInfo('RINGSTORE_RING_STREAMS')).messages;
    const posted = await raw(`${a.url}/streams/orders-1`, json([{ valor: 1, gatewayId: 'g1' }, { valor: 2, gatewayId: 'g2' }, { valor: 3, gatewayId: 'g1' }]));
    expect(posted.status).toBe(202);
    expect((posted.body as { version: number }[]).map((r) => r.version)).toEqual([1, 2, 3]);
    expect((await jsInfo('RINGSTORE_RING_STREAMS')).messages).toBe(before + 1);
    // A answers after applying its own write: read-your-writes on A.
    const onA = await page(a.url, 'orders-1');
    expect(onA).toHaveLength(3);
    await eventually(async () => (await page(b.url, 'orders-1')).length === 3, 'B holds the batch');
    expect(await page(b.url, 'orders-1')).toEqual(onA);
    const ids = (posted.body as { id: string }[]).map((r) => r.id);
    expect((onA as { id: string }[]).map((e) => e.id)).toEqual(ids);
    const agg = await raw(`${b.url}/streams/orders-1?aggregate=true`);
    expect(agg.body).toMatchObject({ totalEvents: 3, totalValor: 6, gateways: { g1: { count: 2, sum: 4 }, g2: { count: 1, sum: 2 } } });
  });

  it('metrics posted on A are counted on B', async () => {
    const t = Date.now();
    expect((await raw(`${a.url}/metrics`, json([{ label: 'cpu-x', value: 60, timestamp: t }, { label: 'cpu-x', value: 10, timestamp: t }, { label: 'mem-x', value: 5, timestamp: t }]))).status).toBe(202);
    expect((await raw(`${b.url}/metrics`, json({ label: 'cpu-x', value: 70, timestamp: t }))).status).toBe(202);
    const window = async (url: string): Promise<unknown> => (await raw(`${url}/metrics/window?label=cpu-x`)).body;
    await eventually(async () => JSON.stringify(await window(a.url)) === JSON.stringify(await window(b.url)), 'both daemons agree');
    expect(await window(a.url)).toMatchObject({ count: 3, sum: 140, min: 10, max: 70 });
    expect((await raw(`${b.url}/metrics/sum?label=mem-x`)).body).toBe(5);
  });

  it('an expected version checked on B sees the append made on A (409 with the actual version)', async () => {
    const first = await raw(`${a.url}/streams/cas-1`, json({ valor: 1 }, { 'expected-version': '0' }));
    expect(first.body).toMatchObject({ version: 1, duplicate: false });
    // B has not necessarily applied A's append yet: the check happens where the append lands in the log.
    const late = await raw(`${b.url}/streams/cas-1`, json({ valor: 2 }, { 'expected-version': '0' }));
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'RS_ERR_CONFLICT', expected: 0, actual: 1 });
    const next = await raw(`${b.url}/streams/cas-1`, json({ valor: 2 }, { 'expected-version': '1' }));
    expect(next.body).toMatchObject({ version: 2 });
  });

  it('two daemons racing on one expected version: exactly one wins, and both agree on the winner', async () => {
    for (let round = 0; round < 10; round++) {
      const s = `race-${round}`;
      const [ra, rb] = await Promise.all([
        raw(`${a.url}/streams/${s}`, json({ by: 'a' }, { 'expected-version': '0' })),
        raw(`${b.url}/streams/${s}`, json({ by: 'b' }, { 'expected-version': '0' })),
      ]);
      expect([ra.status, rb.status].sort()).toEqual([202, 409]);
      const winner = ra.status === 202 ? 'a' : 'b';
      await eventually(async () => (await page(a.url, s)).length === 1 && (await page(b.url, s)).length === 1, `${s} on both`);
      for (const url of [a.url, b.url]) expect(await page(url, s)).toMatchObject([{ by: winner, version: 1 }]);
    }
  });

  it('a burst of concurrent appends on both daemons: each request gets its own outcome, and both daemons agree', async () => {
    // Requests arriving while publishes are in flight share JetStream messages: outcomes must not mix.
    const STREAMS = 30;
    const before = (await jsInfo('RINGSTORE_RING_STREAMS')).messages;
    const calls: Promise<{ s: number; kind: string; r: { status: number; body: any } }>[] = [];
    for (let s = 0; s < STREAMS; s++) {
      const call = (kind: string, url: string, body: unknown, headers: Record<string, string>) => calls.push(raw(`${url}/streams/burst-${s}`, json(body, headers)).then((r) => ({ s, kind, r })));
      call('race', a.url, { by: 'a' }, { 'expected-version': '0' });
      call('race', b.url, { by: 'b' }, { 'expected-version': '0' });
      for (let k = 0; k < 4; k++) call('idem', k % 2 ? a.url : b.url, { by: 'idem' }, { 'idempotency-key': `burst-${s}` });
    }
    const done = await Promise.all(calls);
    // 180 requests at once, at most 2 publishes in flight per daemon: how many share a message depends on
    // timing (the bench counts it); none may be published twice.
    expect((await jsInfo('RINGSTORE_RING_STREAMS')).messages - before).toBeLessThanOrEqual(calls.length);
    for (let s = 0; s < STREAMS; s++) {
      const mine = done.filter((d) => d.s === s);
      const race = mine.filter((d) => d.kind === 'race').map((d) => d.r);
      expect(race.map((r) => r.status).sort(), `burst-${s}`).toEqual([202, 409]);
      const idem = mine.filter((d) => d.kind === 'idem').map((d) => d.r);
      expect(idem.every((r) => r.status === 202)).toBe(true);
      expect(idem.filter((r) => !r.body.duplicate)).toHaveLength(1);
      expect(new Set(idem.map((r) => `${r.body.id}/${r.body.version}/${r.body.position}`)).size).toBe(1);
      const stored = [race.find((r) => r.status === 202)!.body.version, idem[0]!.body.version].sort();
      expect(stored).toEqual([1, 2]);
      await eventually(async () => JSON.stringify(await page(a.url, `burst-${s}`)) === JSON.stringify(await page(b.url, `burst-${s}`)), `burst-${s} equal`);
      expect(await page(a.url, `burst-${s}`)).toHaveLength(2);
    }
  });

  it('an idempotency key retried on the other daemon answers duplicate with the first result', async () => {
    const first = await raw(`${a.url}/streams/idem-1`, json({ valor: 5 }, { 'idempotency-key': 'pay-77' }));
    expect(first.body).toMatchObject({ id: 'pay-77', version: 1, duplicate: false });
    const retry = await raw(`${b.url}/streams/idem-1`, json({ valor: 5 }, { 'idempotency-key': 'pay-77' }));
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ ...first.body, duplicate: true });
    // The same for an event id in the body, and for a batch.
    const batch = [{ id: 'e-1', valor: 1 }, { id: 'e-2', valor: 2 }];
    expect((await raw(`${b.url}/streams/idem-2`, json(batch))).body).toMatchObject([{ duplicate: false }, { duplicate: false }]);
    expect((await raw(`${a.url}/streams/idem-2`, json(batch))).body).toMatchObject([{ id: 'e-1', version: 1, duplicate: true }, { id: 'e-2', version: 2, duplicate: true }]);
    await eventually(async () => (await page(b.url, 'idem-2')).length === 2 && (await page(a.url, 'idem-2')).length === 2, 'both hold two');
  });

  it('admin clear through the log empties both daemons', async () => {
    await raw(`${a.url}/streams/clear-1`, json({ valor: 1 }));
    const cleared = await raw(`${b.url}/admin/clear`, { method: 'POST' });
    expect(cleared.body).toMatchObject({ cleared: true });
    await eventually(async () => (await page(a.url, 'clear-1')).length === 0, 'A cleared');
    expect((await raw(`${a.url}/metrics/window`)).body).toMatchObject({ count: 0 });
    // Writes after the clear are kept, and versions go on (the ring remembers the key's version).
    expect((await raw(`${a.url}/streams/clear-1`, json({ valor: 2 }))).status).toBe(202);
    await eventually(async () => (await page(b.url, 'clear-1')).length === 1, 'B sees the later write');
  });

  it('a daemon started later catches up before /ready answers 200', async () => {
    // Enough batches that catching up takes a while.
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 600; i++) writes.push(raw(`${i % 2 ? a.url : b.url}/streams/late-${i % 7}`, json(Array.from({ length: 5 }, (_, j) => ({ valor: j, n: i })))));
    await Promise.all(writes);
    const expected = await Promise.all(Array.from({ length: 7 }, (_, s) => page(a.url, `late-${s}`)));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', String(port), '--partitions', '2', '--capacity', String(CAPACITY), '--nats', nats.url, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const seen: number[] = [];
      for (let i = 0; ; i++) {
        expect(child.exitCode, err).toBeNull();
        expect(i, `not ready after 30 s: ${err}`).toBeLessThan(3000);
        const r = await raw(`${url}/ready`).catch(() => null);
        if (r !== null) {
          seen.push(r.status);
          if (r.status === 200) break;
          expect(r.body.error.code).toBe('RS_ERR_NOT_READY');
        }
        await new Promise((res) => setTimeout(res, 10));
      }
      // At its first 200, it holds everything written before it started.
      for (let s = 0; s < 7; s++) expect(await page(url, `late-${s}`), `late-${s}`).toEqual(expected[s]);
      const count = async (u: string): Promise<number> => ((await raw(`${u}/metrics/snapshot-views`)).body as { totalEvents: number }).totalEvents;
      expect(await count(url)).toBe(await count(a.url));
      // And it follows: a write on A shows up on it.
      await raw(`${a.url}/streams/late-0`, json({ valor: 99 }));
      await eventually(async () => (await page(url, 'late-0')).length === expected[0]!.length + 1, 'the late daemon follows');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('a foreign message on the log is skipped by every daemon, which go on applying', async () => {
    const nc = await connect({ servers: [nats.url] });
    try {
      const { jetstream } = await import('@nats-io/jetstream');
      await jetstream(nc).publish('ringstore.ring.streams', 'not an operation');
      await jetstream(nc).publish('ringstore.ring.streams', JSON.stringify({ k: 'append', r: [], e: -1 }));
    } finally {
      await nc.close();
    }
    expect((await raw(`${a.url}/streams/after-foreign`, json({ valor: 1 }))).body).toMatchObject({ version: 1 });
    await eventually(async () => (await page(b.url, 'after-foreign')).length === 1, 'B applies past the foreign messages');
  });

  it('the log keeps the ring capacity in messages, dropping the oldest', async () => {
    const info = await jsInfo('RINGSTORE_RING_METRICS');
    expect(info).toMatchObject({ maxMsgs: CAPACITY, discard: 'old' });
  });

  it('a daemon with another ring sizing is refused (its replay would not match)', async () => {
    await expect(startDaemon({ nats: [nats.url], capacity: CAPACITY * 2 })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
  });
});
