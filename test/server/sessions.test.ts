// Versioned streams over HTTP: sessions, appends, reads, snapshots and every mapped error code.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, SessionGoneError, VersionConflictError, type RingstoreHttpError } from '../../dist/src/client/index.js';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';

let d: TestDaemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d.close();
});

const fail = async (p: Promise<unknown>): Promise<RingstoreHttpError> => (await p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e)) as RingstoreHttpError;

describe('versioned streams over HTTP', () => {
  it('open, append, read, slice, get, version, versionOf, close', async () => {
    const s = await d.client.openSession('BankAccount/1');
    expect(s.storeId).toBe('EventStores/BankAccount/1');
    expect(await s.version()).toBe(0);
    expect(await s.append([{ id: 'e1', type: 'Opened', data: { owner: 'Joe' } }])).toBe(1);
    expect(await s.append([{ type: 'Deposited', data: { amount: 10 } }, { type: 'Deposited', data: { amount: 5 } }], { expectedVersion: 1 })).toBe(3);
    const all = await s.read();
    expect(all.events.map((e) => [e.type, e.version])).toEqual([['Opened', 1], ['Deposited', 2], ['Deposited', 3]]);
    expect(all.events[0].metadata.correlationId).toBe('e1');
    expect((await s.read({ toVersion: 2 })).events).toHaveLength(2);
    expect((await s.slice(2, 9)).map((e) => e.version)).toEqual([2, 3]);
    expect((await s.get<{ amount: number }>(3)).data.amount).toBe(5);
    expect(await s.versionOf('e1')).toBe(1);
    await s.close();
    await s.close(); // idempotent
    const again = await d.client.openSession({ name: 'BankAccount', id: '1' });
    expect(await again.version()).toBe(3);
    await again.close();
  });

  it('versionOf finds every id the stream takes, up to 256 characters once URI-encoded', async () => {
    // fastify's default maxParamLength (100) answered 400 "exceeding the max param length" past 100
    const s = await d.client.openSession('LongIds/1');
    try {
      const ids = ['i'.repeat(256), 'é'.repeat(42), `${'a'.repeat(101)}/${'b'.repeat(100)}`];
      await s.append(ids.map((id) => ({ id, type: 'E', data: null })));
      for (const [i, id] of ids.entries()) expect(await s.versionOf(id)).toBe(i + 1);
    } finally {
      await s.close();
    }
  });

  it('expected version in a header; conflicts are 409 with expected and actual', async () => {
    const s = await d.client.openSession('Acc/2');
    await s.append([{ type: 'A', data: 1 }]);
    const err = await fail(s.append([{ type: 'B', data: 2 }], { expectedVersion: 0 }));
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(err).toMatchObject({ status: 409, code: 'RS_ERR_STORE_VERSION_MISMATCH', expected: 0, actual: 1 });
    const viaHeader = await raw(`${d.url}/sessions/${s.sessionId}/events`, json({ events: [{ type: 'B', data: 2 }] }, { 'expected-version': '1' }));
    expect(viaHeader).toMatchObject({ status: 201, body: { version: 2 } });
    const dup = await fail(s.append([{ id: 'same', type: 'C', data: 3 }, { id: 'x', type: 'C', data: 3 }]).then(() => s.append([{ id: 'same', type: 'C', data: 3 }])));
    expect(dup).toMatchObject({ status: 409, code: 'RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID' });
    expect(await s.version()).toBe(4);
    await s.close();
  });

  it('snapshots: create, list, read from snapshot, delete one, delete all', async () => {
    const s = await d.client.openSession('Snap/1');
    await s.append(Array.from({ length: 5 }, (_, i) => ({ type: 'Inc', data: { by: i + 1 } })));
    await s.snapshot(3, { total: 6 });
    await s.snapshot(5, { total: 15 });
    expect(await s.snapshotVersions()).toEqual([3, 5]);
    const fromSnap = await s.read<unknown, { total: number }>({ useSnapshot: true, toVersion: 4 });
    expect(fromSnap.snapshot).toMatchObject({ version: 3, state: { total: 6 } });
    expect(fromSnap.events.map((e) => e.version)).toEqual([4]);
    expect((await raw(`${d.url}/sessions/${s.sessionId}/snapshots`)).body).toEqual({ versions: [3, 5], last: 5 });
    await s.clearSnapshot(3);
    expect(await s.snapshotVersions()).toEqual([5]);
    const missing = await fail(s.clearSnapshot(3));
    expect(missing).toMatchObject({ status: 404, code: 'RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND' });
    await s.clearSnapshots();
    expect(await s.snapshotVersions()).toEqual([]);
    await s.close();
  });

  it('maps every typed error to its status', async () => {
    const s = await d.client.openSession('Err/1');
    await s.append([{ type: 'A', data: null }]);
    expect(await fail(s.get(7))).toMatchObject({ status: 404, code: 'RS_ERR_STREAM_VERSION_NOT_FOUND' });
    expect(await fail(s.read({ toVersion: 9 }))).toMatchObject({ status: 404, code: 'RS_ERR_STREAM_VERSION_NOT_FOUND' });
    expect(await fail(s.snapshot(9, {}))).toMatchObject({ status: 404, code: 'RS_ERR_STREAM_VERSION_NOT_FOUND' });
    expect(await fail(s.versionOf('nope'))).toMatchObject({ status: 404, code: 'RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND' });
    expect(await fail(s.slice(3, 1))).toMatchObject({ status: 400, code: 'RS_ERR_INVALID_ARGUMENT' });
    expect(await fail(s.snapshot(0, {}))).toMatchObject({ status: 400, code: 'RS_ERR_INVALID_ARGUMENT' });
    expect(await fail(s.append([{ id: 'd', type: 'A', data: 1 }, { id: 'd', type: 'A', data: 1 }]))).toMatchObject({ status: 400, code: 'RS_ERR_INVALID_ARGUMENT' });
    // a stream held by a live session: 423 after openTimeoutMs
    expect(await fail(d.client.openSession('Err/1', { openTimeoutMs: 50 }))).toMatchObject({ status: 423, code: 'RS_ERR_STORE_OPEN_FAILED' });
    expect(await fail(d.client.openSession('only-one-part'))).toMatchObject({ status: 400, code: 'RS_ERR_INVALID_ARGUMENT' });
    await s.close();
    // closed session: 404 RS_ERR_STORE_NOT_OPEN
    const gone = await fail(s.version());
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(gone.code).toBe('RS_ERR_STORE_NOT_OPEN');
  });

  it('an expired lease is 410; another session taking it over is 410 too', async () => {
    const s = await d.client.openSession('Lease/1', { sessionTimeoutMs: 60 });
    await new Promise((r) => setTimeout(r, 90));
    const expired = await fail(s.append([{ type: 'A', data: 1 }]));
    expect(expired).toBeInstanceOf(SessionGoneError);
    expect(expired).toMatchObject({ status: 410, code: 'RS_ERR_STORE_SESSION_EXPIRED' });
    const other = await d.client.openSession('Lease/1');
    expect(await fail(s.version())).toMatchObject({ status: 410, code: 'RS_ERR_STORE_INVALID_SESSION' });
    await other.append([{ type: 'A', data: 1 }]);
    await other.close();
  });

  it('renew extends the lease', async () => {
    const s = await d.client.openSession('Lease/2', { sessionTimeoutMs: 200 });
    const before = s.expiresAt;
    const after = await s.renew(5000);
    expect(after).toBeGreaterThan(before);
    await new Promise((r) => setTimeout(r, 250));
    expect(await s.append([{ type: 'A', data: 1 }])).toBe(1);
    await s.close();
  });
});

describe('waiting for a held stream (openTimeoutMs)', () => {
  it('a holder that releases after 300 ms lets the waiter in, after the wait', async () => {
    const holder = await d.client.openSession('Wait/1');
    const t0 = performance.now();
    const release = new Promise((r) => setTimeout(r, 300)).then(() => holder.close());
    const waiter = await d.client.openSession('Wait/1', { openTimeoutMs: 5000 });
    const waited = performance.now() - t0;
    await release;
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(3000);
    expect(await waiter.append([{ type: 'A', data: 1 }])).toBe(1);
    await waiter.close();
  });

  it('a holder that keeps it: 423 after about openTimeoutMs, not at once', async () => {
    const holder = await d.client.openSession('Wait/2');
    const t0 = performance.now();
    const err = await fail(d.client.openSession('Wait/2', { openTimeoutMs: 600 }));
    const waited = performance.now() - t0;
    expect(err).toMatchObject({ status: 423, code: 'RS_ERR_STORE_OPEN_FAILED' });
    expect(err.message).not.toMatch(/aborted/);
    expect(waited).toBeGreaterThanOrEqual(580);
    expect(waited).toBeLessThan(3000);
    await holder.close();
  });

  it('a waiter whose client goes away stops waiting and never takes the lease', async () => {
    const holder = await d.client.openSession('Wait/3');
    const gone = new AbortController();
    const abandoned = fetch(`${d.url}/sessions`, { ...json({ stream: 'Wait/3', openTimeoutMs: 10_000 }), signal: gone.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 150));
    gone.abort();
    await abandoned;
    await new Promise((r) => setTimeout(r, 50));
    await holder.close();
    // Had the abandoned waiter kept waiting, it would hold the stream now.
    const next = await d.client.openSession('Wait/3', { openTimeoutMs: 0 });
    await next.close();
  });
});

describe('durable versioned streams (--data-dir)', () => {
  it('survive a daemon restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-daemon-'));
    try {
      const a = await startDaemon({ dataDir: dir });
      const s = await a.client.openSession('Durable/1');
      await s.append([{ type: 'A', data: { n: 1 } }, { type: 'B', data: { n: 2 } }]);
      await s.snapshot(2, { n: 3 });
      await a.close(); // closes the session and the LMDB backend
      const b = await startDaemon({ dataDir: dir });
      const s2 = await b.client.openSession('Durable/1');
      expect(await s2.version()).toBe(2);
      expect((await s2.read({ useSnapshot: true })).snapshot).toMatchObject({ version: 2, state: { n: 3 } });
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
