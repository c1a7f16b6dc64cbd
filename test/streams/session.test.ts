// Sessions: leases, open wait / expiry / takeover / timeout, close by owner only.
import { expect, it } from 'vitest';
import {
  InvalidStoreSessionError,
  OpenStoreFailedError,
  StoreNotOpenError,
  StoreSessionExpiredError,
  StreamStoreProvider,
} from '../../dist/src/streams/index.js';
import { code, describeBackends, evs, rejection } from './helpers.js';

describeBackends('open', ({ manual, real }) => {
  it('grants a free stream and a second open of a held stream waits, then times out (no stealing)', async () => {
    const { provider, clock } = manual();
    const a = await provider.open('Acc/1', { sessionTimeoutMs: 60_000 });
    const t0 = clock.now();
    const err = await rejection<OpenStoreFailedError>(provider.open('Acc/1', { openTimeoutMs: 2_000 }));
    expect(err).toBeInstanceOf(OpenStoreFailedError);
    expect(err.code).toBe('RS_ERR_STORE_OPEN_FAILED');
    expect(err.timeoutMs).toBe(2_000);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(2_000); // it really waited (manual time)
    expect(await a.append(evs(1, 1))).toBe(1); // a still holds it
  });

  it('openTimeoutMs 0 fails at once', async () => {
    const { provider, clock } = manual();
    await provider.open('Acc/1');
    const t0 = clock.now();
    expect(await code(provider.open('Acc/1', { openTimeoutMs: 0 }))).toBe('RS_ERR_STORE_OPEN_FAILED');
    expect(clock.now()).toBe(t0);
  });

  it('waits for the holder to close and then gets the stream (real clock, generous timeout)', async () => {
    const provider = real();
    const a = await provider.open('Acc/1');
    await a.append(evs(1, 3));
    const pending = provider.open('Acc/1', { openTimeoutMs: 30_000 });
    setTimeout(() => void a.close(), 20);
    const b = await pending;
    expect(await b.version()).toBe(3);
    await provider.close();
  });

  it('takes over an expired lease (crashed holder) instead of refusing it', async () => {
    const { provider, clock } = manual();
    const a = await provider.open('Acc/1', { sessionTimeoutMs: 1_000 });
    await a.append(evs(1, 2));
    clock.advance(1_000);
    const b = await provider.open('Acc/1', { openTimeoutMs: 0 });
    expect(await b.version()).toBe(2);
    const err = await rejection<InvalidStoreSessionError>(a.append(evs(3, 1)));
    expect(err).toBeInstanceOf(InvalidStoreSessionError);
    expect(err.activeSessionId).toBe(b.sessionId);
    expect(await b.version()).toBe(2);
  });

  it('a waiting open gets the stream as soon as the holder lease expires', async () => {
    const { provider, clock } = manual();
    await provider.open('Acc/1', { sessionTimeoutMs: 3_000 });
    const t0 = clock.now();
    const b = await provider.open('Acc/1', { openTimeoutMs: 10_000 });
    expect(clock.now() - t0).toBeGreaterThanOrEqual(3_000);
    expect(clock.now() - t0).toBeLessThan(3_200);
    expect(b.isOpen).toBe(true);
  });

  it('can be aborted with a signal', async () => {
    const { provider } = manual();
    await provider.open('Acc/1');
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    const err = await rejection(provider.open('Acc/1', { signal: ac.signal }));
    expect(err.code).toBe('RS_ERR_STORE_OPEN_FAILED');
    expect((err.cause as Error).message).toBe('stop');
  });

  it('different streams (and the same name/id in other databases) do not block each other', async () => {
    const { provider } = manual();
    await provider.open('Acc/1');
    await provider.open('Acc/2', { openTimeoutMs: 0 });
    await provider.open({ database: 'other', name: 'Acc', id: '1' }, { openTimeoutMs: 0 });
    await provider.open('Other/1', { openTimeoutMs: 0 });
  });

  it('validates stream ids and options with typed errors', async () => {
    const { provider } = manual();
    for (const bad of ['', 'Acc', 'Acc/', '/1', 'a/b/c/d', ' /1']) expect(await code(provider.open(bad)), bad).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(provider.open({ name: 'Acc', id: '' }))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(provider.open({ database: '', name: 'Acc', id: '1' }))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(provider.open({ name: 'Acc', id: 7 as unknown as string }))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(provider.open('Acc/1', { sessionTimeoutMs: 0 }))).toBe('RS_ERR_INVALID_OPTION');
    expect(await code(provider.open('Acc/1', { openTimeoutMs: -1 }))).toBe('RS_ERR_INVALID_OPTION');
    expect(await code(provider.open('Acc/1', { sessionTimeoutMs: Number.NaN }))).toBe('RS_ERR_INVALID_OPTION');
    expect(() => new StreamStoreProvider({ defaults: { sessionTimeoutMs: -5 } })).toThrow(/sessionTimeoutMs/);
    expect(() => new StreamStoreProvider({ backend: {} as never })).toThrow(/KeyValueBackend/);
    expect(() => new StreamStoreProvider({ clock: { now: () => 1 } as never })).toThrow(/clock/);
    expect(() => new StreamStoreProvider({ publishTo: {} as never })).toThrow(/publishTo/);
    // A misspelt option was ignored: the lease ran on its default length.
    expect(await code(provider.open('Acc/1', { sessionTimout: 10 } as never))).toBe('RS_ERR_INVALID_OPTION');
    expect(() => new StreamStoreProvider({ default: { sessionTimeoutMs: 10 } } as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION', message: expect.stringMatching(/options\.default is not known/) }));
    expect(() => new StreamStoreProvider({ defaults: { sessionTimeout: 10 } } as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
  });

  it('a misspelt append option or event field is refused, and nothing is stored: an append meant to be conditional never commits unconditionally', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/typo');
    expect(await s.append(evs(1, 2))).toBe(2);
    expect(await code(s.append(evs(3, 1), { expectedVerson: 0 } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.append([{ type: 'E', data: 1, expectedVerison: 1 }] as never))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.append([{ type: 'E', data: 1 }, { type: 'E', payload: 1 }] as never))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect((await s.read()).events.map((e) => e.version)).toEqual([1, 2]);
    // read({ toVerison: 1 }) read to the head
    expect(await code(s.read({ toVerison: 1 } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
    await s.close();
  });

  it('string and object ids name the same stream; the default database is "EventStores"', async () => {
    const { provider } = manual();
    const a = await provider.open('Acc/1');
    expect(a.storeId).toBe('EventStores/Acc/1');
    expect(await code(provider.open({ database: 'EventStores', name: 'Acc', id: '1' }, { openTimeoutMs: 0 }))).toBe('RS_ERR_STORE_OPEN_FAILED');
    expect(await code(provider.open('EventStores/Acc/1', { openTimeoutMs: 0 }))).toBe('RS_ERR_STORE_OPEN_FAILED');
  });
});

describeBackends('session checks', ({ manual, real }) => {
  it('every operation fails with StoreNotOpenError after close, and close is idempotent', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 1));
    await s.close();
    await s.close();
    const ops: Array<() => Promise<unknown>> = [
      () => s.append(evs(2, 1)),
      () => s.append([]),
      () => s.read(),
      () => s.slice(1, 1),
      () => s.get(1),
      () => s.version(),
      () => s.versionOf('x'),
      () => s.snapshot(1, {}),
      () => s.snapshotEvery(1, () => ({})),
      () => s.clearSnapshot(1),
      () => s.clearSnapshots(),
      () => s.snapshotVersions(),
      () => s.lastSnapshotVersion(),
      () => s.renew(),
    ];
    for (const op of ops) {
      const err = await rejection(op());
      expect(err).toBeInstanceOf(StoreNotOpenError);
    }
    // the stream is free again
    const t = await provider.open('Acc/1', { openTimeoutMs: 0 });
    expect(await t.version()).toBe(1);
  });

  it('writes queued before close() complete; calls after close() fail', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    const p1 = s.append(evs(1, 2));
    const closing = s.close();
    expect(await code(s.append(evs(3, 1)))).toBe('RS_ERR_STORE_NOT_OPEN');
    expect(await p1).toBe(2);
    await closing;
  });

  it('every operation fails with StoreSessionExpiredError after the lease ends (injected clock)', async () => {
    const { provider, clock } = manual();
    const s = await provider.open('Acc/1', { sessionTimeoutMs: 1_000 });
    await s.append(evs(1, 1));
    clock.advance(999);
    expect(await s.version()).toBe(1);
    clock.advance(1);
    for (const op of [() => s.append(evs(2, 1)), () => s.read(), () => s.version(), () => s.snapshot(1, {})]) {
      const err = await rejection<StoreSessionExpiredError>(op());
      expect(err).toBeInstanceOf(StoreSessionExpiredError);
      expect(err.expiration).toBe(s.expiresAt);
    }
  });

  it('notices a real-time expiry within 5 s', async () => {
    const provider = real();
    const s = await provider.open('Acc/1', { sessionTimeoutMs: 200 });
    await s.append(evs(1, 1));
    const t0 = Date.now();
    let err: unknown;
    while (Date.now() - t0 < 5_000) {
      try {
        await s.version();
      } catch (e) {
        err = e;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(err).toBeInstanceOf(StoreSessionExpiredError);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await provider.close();
  });

  it('renew() extends the lease', async () => {
    const { provider, clock } = manual();
    const s = await provider.open('Acc/1', { sessionTimeoutMs: 1_000 });
    clock.advance(900);
    const until = await s.renew();
    expect(until).toBe(clock.now() + 1_000);
    clock.advance(900);
    expect(await s.version()).toBe(0);
    // others still cannot open
    expect(await code(provider.open('Acc/1', { openTimeoutMs: 0 }))).toBe('RS_ERR_STORE_OPEN_FAILED');
    clock.advance(100);
    expect(await code(s.renew())).toBe('RS_ERR_STORE_SESSION_EXPIRED');
    expect(await code(s.renew(0))).toBe('RS_ERR_INVALID_OPTION'); // RS_ERR_INVALID_ARGUMENT before the one-day bound (session-timeout-bounds.test.ts)
  });

  it('close() of a stale session does not release the new holder (close by owner only)', async () => {
    const { provider, clock } = manual();
    const a = await provider.open('Acc/1', { sessionTimeoutMs: 1_000 });
    clock.advance(1_001);
    const b = await provider.open('Acc/1');
    await a.close();
    expect(await code(provider.open('Acc/1', { openTimeoutMs: 0 }))).toBe('RS_ERR_STORE_OPEN_FAILED');
    expect(await b.append(evs(1, 1))).toBe(1);
  });

  it('supports await using', async () => {
    const { provider } = manual();
    {
      await using s = await provider.open('Acc/1');
      await s.append(evs(1, 1));
    }
    const again = await provider.open('Acc/1', { openTimeoutMs: 0 });
    expect(await again.version()).toBe(1);
  });

  it('provider.close() closes sessions; open() afterwards fails with RS_ERR_CLOSED', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await provider.close();
    expect(await code(s.version())).toBe('RS_ERR_STORE_NOT_OPEN');
    expect(await code(provider.open('Acc/2'))).toBe('RS_ERR_CLOSED');
  });

  it('two providers on one backend exclude each other', async () => {
    const { backend, clock } = manual();
    const p1 = new StreamStoreProvider({ backend, clock });
    const p2 = new StreamStoreProvider({ backend, clock });
    const a = await p1.open('Acc/1');
    expect(await code(p2.open('Acc/1', { openTimeoutMs: 100 }))).toBe('RS_ERR_STORE_OPEN_FAILED');
    await a.close();
    await p2.open('Acc/1', { openTimeoutMs: 0 });
  });

  it('concurrent opens of one free stream grant exactly one session', async () => {
    const { provider } = manual();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => provider.open('Acc/race', { openTimeoutMs: 0 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('RS_ERR_STORE_OPEN_FAILED');
  });
});
