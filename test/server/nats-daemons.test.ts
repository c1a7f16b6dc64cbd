// Several daemons on one JetStream (`ringstore serve --nats`, issue 13): their versioned streams are one
// store. A session on daemon A holds the stream on daemon B until A closes it; appends, expected versions
// and idempotency ids keep their meaning across daemons. The test starts its own nats-server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RingstoreHttpError } from '../../dist/src/client/index.js';
import { parseConfig } from '../../dist/src/server/index.js';
import { sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';
import { startDaemon, type TestDaemon } from './helpers.js';

let a: TestDaemon;
let b: TestDaemon;
beforeAll(async () => {
  const nats = await sharedNatsServer();
  a = await startDaemon({ nats: [nats.url] });
  b = await startDaemon({ nats: [nats.url] });
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([a?.close(), b?.close()]);
  await stopSharedNatsServer();
});

const fail = async (p: Promise<unknown>): Promise<RingstoreHttpError> => (await p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e)) as RingstoreHttpError;

describe('daemons sharing versioned streams on JetStream', () => {
  it('a session on one daemon holds the stream on the other until it closes', async () => {
    const held = await a.client.openSession('Shared/1');
    expect(await held.append([{ id: 'opened', type: 'Opened', data: { by: 'a' } }])).toBe(1);
    const waited = await fail(b.client.openSession('Shared/1', { openTimeoutMs: 300 }));
    expect([waited.status, waited.code]).toEqual([423, 'RS_ERR_STORE_OPEN_FAILED']);
    await held.close();
    const s = await b.client.openSession('Shared/1', { openTimeoutMs: 5_000 });
    const read = await s.read();
    expect(read.events.map((e) => [e.type, e.version, e.data])).toEqual([['Opened', 1, { by: 'a' }]]);
    // Expected version and idempotency ids, as written by the other daemon.
    expect((await fail(s.append([{ type: 'X', data: {} }], { expectedVersion: 0 }))).code).toBe('RS_ERR_STORE_VERSION_MISMATCH');
    expect((await fail(s.append([{ id: 'opened', type: 'Opened', data: { by: 'b' } }]))).code).toBe('RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID');
    expect(await s.append([{ type: 'Renamed', data: { by: 'b' } }], { expectedVersion: 1 })).toBe(2);
    await s.close();
    const again = await a.client.openSession('Shared/1');
    expect(await again.version()).toBe(2);
    await again.close();
  });

  it('after the lease of A\'s session expired, B takes the stream over and A\'s late write is fenced off', async () => {
    // A long lease while B checks that it is blocked (a short one could run out on a loaded machine).
    const held = await a.client.openSession('Shared/3', { sessionTimeoutMs: 60_000 });
    expect(await held.append([{ id: 'a-1', type: 'ByA', data: {} }])).toBe(1);
    expect((await fail(b.client.openSession('Shared/3', { openTimeoutMs: 300 }))).code).toBe('RS_ERR_STORE_OPEN_FAILED');
    // A's lease is cut short and expires; B, waiting, takes the stream over.
    await held.renew(1_000);
    const taker = await b.client.openSession('Shared/3', { openTimeoutMs: 20_000 });
    expect(await taker.version()).toBe(1);
    // A has not noticed: it stalled through the expiry, as after a long pause, so its own clock still
    // says the lease is live (daemon A runs in this process: its clock lags a minute for this request).
    // Its session lets the write through; the store must refuse it.
    const realNow = Date.now;
    Date.now = () => realNow() - 60_000;
    let late: RingstoreHttpError;
    try {
      late = await fail(held.append([{ id: 'a-late', type: 'ByA', data: {} }]));
    } finally {
      Date.now = realNow;
    }
    expect([late.status, late.code]).toEqual([410, 'RS_ERR_STORE_INVALID_SESSION']);
    // Nothing of it was stored: B writes version 2, and neither daemon knows the late id.
    expect(await taker.append([{ id: 'b-1', type: 'ByB', data: {} }])).toBe(2);
    expect((await taker.read()).events.map((e) => [e.id, e.version])).toEqual([['a-1', 1], ['b-1', 2]]);
    await taker.close();
    const check = await a.client.openSession('Shared/3', { openTimeoutMs: 5_000 });
    expect((await check.read()).events.map((e) => e.id)).toEqual(['a-1', 'b-1']);
    await check.close();
  });

  it('a session waiting on one daemon gets the stream when the other closes it', async () => {
    const held = await a.client.openSession('Shared/2');
    const waiting = b.client.openSession('Shared/2', { openTimeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    await held.close();
    const s = await waiting;
    expect(await s.version()).toBe(0);
    await s.close();
  });
});

describe('--nats', () => {
  it('takes comma-separated nats:// URLs and refuses anything else', () => {
    expect(parseConfig(['--nats', 'nats://127.0.0.1:4222, nats://127.0.0.1:4223'], {})).toMatchObject({ nats: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'] });
    expect(() => parseConfig(['--nats', 'http://127.0.0.1:4222'], {})).toThrow(/not a nats:\/\/ URL/);
    expect(() => parseConfig(['--nats', ' , '], {})).toThrow(/one or more server URLs/);
    expect(parseConfig([], {})).toMatchObject({ nats: undefined });
  });
});
