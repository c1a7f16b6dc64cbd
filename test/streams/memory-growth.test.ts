// The memory backend keeps nothing for a stream that was only read or checked: a session opened
// and closed without writes, reads of a never-written stream's version, events or ids, an append
// that conflicted and stored nothing. Before the fix each open() of a new stream left a native
// log in the backend's map and the stream's (emptied) lease folder in its folder map, so
// MemoryBackend.stats() grew by one stream and one folder per distinct stream ever opened.
// Checked through MemoryBackend.stats(), in both layouts (native logs and key-value records).
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../dist/src/streams/index.js';
import { code, evs, manual } from './helpers.js';

/**
 * Distinct never-written streams read in the bulk case: a million in the default layout (native
 * logs), 100,000 in the key-value one. Each is an open (lease add), a version read and a close
 * (lease remove): about 17 s per million on the 2-core test machine, so the second layout, whose
 * leak was the same folder per stream, runs a tenth of it to keep the file under a minute.
 */
const READS: Record<string, number> = { native: 1_000_000, kv: 100_000 };

const EMPTY = { streams: 0, folders: 0, keys: 0 };

describe.each([
  ['native stream logs', 'native', {}],
  ['key-value records', 'kv', { nativeStreams: false }],
])('MemoryBackend keeps nothing for streams only read (%s)', (_layout, layout, backendOptions) => {
  const reads = READS[layout]!;
  it('stats() of a new backend is all zeros', () => {
    expect(new MemoryBackend(backendOptions).stats()).toEqual(EMPTY);
  });

  it(`${reads.toLocaleString('en')} sessions on distinct never-written streams, each reading its version, then closed`, { timeout: 180_000 }, async () => {
    const { backend, provider } = manual({}, backendOptions);
    const mem = backend as MemoryBackend;
    for (let i = 0; i < reads; i++) {
      const s = await provider.open(`Never/${i}`);
      expect(await s.version()).toBe(0);
      await s.close();
      // Checked along the way too: a leak shows on the first stream, not only at the end.
      if (i === 0 || i === reads - 1) expect(mem.stats()).toEqual(EMPTY);
    }
    await provider.close();
  });

  it('every read of a never-written stream: version, read, slice, get, versionOf, snapshots', async () => {
    const { backend, provider } = manual({}, backendOptions);
    const s = await provider.open('Never/reads');
    expect(await s.version()).toBe(0);
    expect((await s.read()).events).toEqual([]);
    expect(await s.slice(1, 10)).toEqual([]);
    expect(await code(s.get(1))).toBe('RS_ERR_STREAM_VERSION_NOT_FOUND');
    expect(await code(s.versionOf('nope'))).toBe('RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND');
    expect(await s.snapshotVersions()).toEqual([]);
    expect(await s.lastSnapshotVersion()).toBe(0);
    expect(await s.append([])).toBe(0);
    await s.close();
    expect((backend as MemoryBackend).stats()).toEqual(EMPTY);
  });

  it('an append that conflicted stored nothing, and keeps nothing', async () => {
    const { backend, provider } = manual({}, backendOptions);
    const s = await provider.open('Never/conflict');
    expect(await code(s.append(evs(1, 2), { expectedVersion: 3 }))).toBe('RS_ERR_STORE_VERSION_MISMATCH');
    expect(await code(s.append([{ type: 'E', data: {}, expectedVersion: 5 }]))).toBe('RS_ERR_STORE_VERSION_MISMATCH');
    expect(await s.version()).toBe(0);
    await s.close();
    expect((backend as MemoryBackend).stats()).toEqual(EMPTY);
  });

  it('a session whose lease expired and was taken over, neither writing, leaves nothing', async () => {
    const { backend, clock, provider } = manual({ defaults: { sessionTimeoutMs: 10 } }, backendOptions);
    const a = await provider.open('Never/taken');
    clock.advance(11);
    const b = await provider.open('Never/taken');
    expect(await b.version()).toBe(0);
    await b.close();
    await a.close(); // lease gone: left as is
    expect((backend as MemoryBackend).stats()).toEqual(EMPTY);
  });

  it('key-value reads and failed conditional writes of absent keys keep nothing', async () => {
    const backend = new MemoryBackend(backendOptions);
    expect(await backend.tryGet('a/b/c')).toBeUndefined();
    expect(await backend.list('a/b/')).toEqual([]);
    expect(await backend.remove('a/b/c')).toBe(false);
    expect(await code(backend.set('a/b/c', 1, { etag: 'm1' }))).toBe('RS_ERR_KV_CONCURRENCY');
    expect(await code(backend.remove('a/b/c', { etag: 'm1' }))).toBe('RS_ERR_KV_CONCURRENCY');
    expect(await code(backend.batch([{ op: 'add', key: 'x/y/1', value: 1 }, { op: 'add', key: 'z/1', value: 2 }, { op: 'check', key: 'q/1', etag: 'm9' }]))).toBe('RS_ERR_KV_CONCURRENCY');
    expect(backend.stats()).toEqual(EMPTY);
    // A record written then removed: its folder goes with it.
    await backend.add('a/b/c', 1);
    expect(backend.stats()).toEqual({ streams: 0, folders: 1, keys: 1 });
    await backend.remove('a/b/c');
    expect(backend.stats()).toEqual(EMPTY);
    await backend.close();
  });

  it('a written stream is kept, stays writable after its lease folder was emptied, and is counted once', async () => {
    const { backend, provider } = manual({}, backendOptions);
    const mem = backend as MemoryBackend;
    const s = await provider.open('Kept/1');
    expect(await s.append(evs(1, 3))).toBe(3);
    await s.close();
    const kept = mem.stats();
    // Native layout: one log, no record (the lease is gone); key-value layout: the stream's records.
    if (layout === 'native') expect(kept).toEqual({ streams: 1, folders: 0, keys: 0 });
    else expect(kept.streams === 0 && kept.keys > 0).toBe(true);
    // Reopened (a new lease record, maybe in a new folder): reads and writes go on where they were.
    const t = await provider.open('Kept/1');
    expect(await t.version()).toBe(3);
    expect(await t.append(evs(4, 2), { expectedVersion: 3 })).toBe(5);
    expect((await t.read()).events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
    await t.close();
    const written = mem.stats();
    expect(written.streams).toBe(kept.streams);
    // Reads of other, never-written streams add nothing to it.
    for (let i = 0; i < 100; i++) {
      const r = await provider.open(`Never/${i}`);
      await r.version();
      await r.close();
    }
    expect(mem.stats()).toEqual(written);
  });
});
