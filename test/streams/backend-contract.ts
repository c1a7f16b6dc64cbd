// The contract every KeyValueBackend must pass. Used by backends.test.ts.
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import type { KeyValueBackend } from '../../dist/src/streams/index.js';
import { ManualClock } from '../../dist/src/streams/index.js';

export interface BackendHarness {
  backend: KeyValueBackend;
  clock: ManualClock;
  cleanup(): Promise<void>;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'resolved';
}

export function backendContract(name: string, make: () => Promise<BackendHarness>): void {
  describe(`KeyValueBackend contract: ${name}`, () => {
    let h: BackendHarness;
    let b: KeyValueBackend;
    beforeEach(async () => {
      h = await make();
      b = h.backend;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('add is create-only and returns an etag', async () => {
      const e1 = await b.add('t/a', { n: 1 });
      expect(typeof e1).toBe('string');
      expect(await code(b.add('t/a', { n: 2 }))).toBe('RS_ERR_KV_DUPLICATE_KEY');
      expect((await b.get('t/a')).value).toEqual({ n: 1 });
    });

    it('get throws not-found, tryGet answers undefined', async () => {
      expect(await code(b.get('t/missing'))).toBe('RS_ERR_KV_KEY_NOT_FOUND');
      expect(await b.tryGet('t/missing')).toBeUndefined();
    });

    it('set upserts with a new etag and compare-and-sets on etag', async () => {
      const e1 = await b.set('t/k', 1);
      const e2 = await b.set('t/k', 2, { etag: e1 });
      expect(e2).not.toBe(e1);
      expect(await code(b.set('t/k', 3, { etag: e1 }))).toBe('RS_ERR_KV_CONCURRENCY');
      expect(await code(b.set('t/k', 3, { etag: null }))).toBe('RS_ERR_KV_CONCURRENCY');
      expect(await b.get('t/k')).toEqual({ value: 2, etag: e2 });
      await b.set('t/new', 'x', { etag: null });
      expect((await b.get('t/new')).value).toBe('x');
    });

    it('remove with etag compare-and-set', async () => {
      const e = await b.add('t/r', 1);
      expect(await code(b.remove('t/r', { etag: 'nope' }))).toBe('RS_ERR_KV_CONCURRENCY');
      expect(await b.remove('t/r', { etag: e })).toBe(true);
      expect(await b.remove('t/r')).toBe(false);
      expect(await b.tryGet('t/r')).toBeUndefined();
    });

    it('TTL: an entry reads as absent once expired, and can be added again', async () => {
      await b.add('t/ttl', 'v', { ttlMs: 1000 });
      expect((await b.get('t/ttl')).value).toBe('v');
      h.clock.advance(999);
      expect(await b.tryGet('t/ttl')).toBeDefined();
      h.clock.advance(1);
      expect(await b.tryGet('t/ttl')).toBeUndefined();
      expect(await b.list('t/')).toEqual([]);
      await b.add('t/ttl', 'w');
      expect((await b.get('t/ttl')).value).toBe('w');
    });

    it('list reads direct children of a folder in leaf order, inclusive range and limit', async () => {
      for (const leaf of ['05', '01', '03', '02', '04']) await b.add(`f/${leaf}`, Number(leaf));
      await b.add('f/sub/99', 'deeper');
      await b.add('g/01', 'other folder');
      expect((await b.list('f/')).map((r) => r.value)).toEqual([1, 2, 3, 4, 5]);
      expect((await b.list('f/', { start: '02', end: '04' })).map((r) => r.key)).toEqual(['f/02', 'f/03', 'f/04']);
      expect((await b.list('f/', { start: '03', limit: 2 })).map((r) => r.value)).toEqual([3, 4]);
      expect(await b.list('f/', { start: '06' })).toEqual([]);
      expect(await b.list('none/')).toEqual([]);
      await b.remove('f/03');
      expect((await b.list('f/')).map((r) => r.value)).toEqual([1, 2, 4, 5]);
      await b.add('f/03', 33);
      expect((await b.list('f/')).map((r) => r.value)).toEqual([1, 2, 33, 4, 5]);
    });

    it('batch applies all operations in order and returns their results', async () => {
      const e = await b.add('b/lease', 'L');
      const res = await b.batch([
        { op: 'check', key: 'b/lease', etag: e },
        { op: 'add', key: 'b/1', value: 'one' },
        { op: 'set', key: 'b/head', value: 1, etag: null },
        { op: 'remove', key: 'b/absent' },
      ]);
      expect(typeof res[1]).toBe('string');
      expect(res[0]).toBe(true);
      expect(res[3]).toBe(false);
      expect((await b.get('b/head')).etag).toBe(res[2]);
    });

    it('batch is all or nothing when an operation fails midway', async () => {
      await b.add('b/x', 'old-x');
      const ey = await b.add('b/y', 'old-y');
      const err = await b
        .batch([
          { op: 'set', key: 'b/y', value: 'new-y', etag: ey },
          { op: 'add', key: 'b/z', value: 'z' },
          { op: 'remove', key: 'b/x' },
          { op: 'add', key: 'b/x', value: 'again' },
          { op: 'add', key: 'b/z', value: 'dup' }, // fails: z was added by this batch
          { op: 'add', key: 'b/w', value: 'never' },
        ])
        .catch((e: unknown) => e as { code: string; opIndex: number });
      expect(err.code).toBe('RS_ERR_KV_DUPLICATE_KEY');
      expect(err.opIndex).toBe(4);
      expect((await b.get('b/y')).value).toBe('old-y');
      expect((await b.get('b/y')).etag).toBe(ey);
      expect((await b.get('b/x')).value).toBe('old-x');
      expect(await b.tryGet('b/z')).toBeUndefined();
      expect(await b.tryGet('b/w')).toBeUndefined();
      expect((await b.list('b/')).map((r) => r.key)).toEqual(['b/x', 'b/y']);
    });

    it('batch fails on a check whose etag does not match, writing nothing', async () => {
      await b.add('c/lease', 'L');
      expect(await code(b.batch([{ op: 'add', key: 'c/1', value: 1 }, { op: 'check', key: 'c/lease', etag: 'stale' }]))).toBe('RS_ERR_KV_CONCURRENCY');
      expect(await code(b.batch([{ op: 'check', key: 'c/absent', etag: null }, { op: 'add', key: 'c/2', value: 2 }]))).toBe('resolved');
      expect(await b.tryGet('c/1')).toBeUndefined();
    });

    it('rejects bad keys and options with typed errors', async () => {
      expect(await code(b.add('', 1))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.add('a/', 1))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.add('a/b', 1, { ttlMs: -1 }))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.list('nofolder'))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.batch([{ op: 'bogus', key: 'a/b' } as never]))).toBe('RS_ERR_INVALID_ARGUMENT');
    });

    it('refuses what it would ignore or store changed: a misspelt option, a key with a lone surrogate, a key past 1,978 bytes', async () => {
      await b.set('c/x', 1);
      // { etg } was ignored: the compare-and-set became an unconditional write
      expect(await code(b.set('c/x', 2, { etg: 'stale' } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.set('c/x', 2, { etag: 5 } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.add('c/y', 2, { tll: 5 } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.remove('c/x', { etg: 'stale' } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.list('c/', { limti: 1 } as never))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.batch([{ op: 'set', key: 'c/x', value: 3, etg: 'stale' } as never]))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.batch([{ op: 'remove', key: 'c/x', value: 3 } as never]))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect((await b.get('c/x')).value).toBe(1);
      expect(await code(b.tryGet('c/y'))).toBe('resolved');
      // LMDB wrote both of these as one key (U+FFFD), and threw an untyped Error for a long key
      expect(await code(b.set('c/\ud800', 1))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.batch([{ op: 'add', key: 'c/\udc00', value: 1 }]))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.set(`c/${'k'.repeat(1977)}`, 1))).toBe('RS_ERR_INVALID_ARGUMENT');
      expect(await code(b.set(`c/${'é'.repeat(987)}`, 1))).toBe('resolved'); // 2 + 1,974 bytes
      expect(await code(b.get(`c/${'é'.repeat(987)}`))).toBe('resolved');
    });

    it('keys of different folders never collide (database/name/id are all part of the key)', async () => {
      await b.add('db1/Acc/1/h', 'a');
      await b.add('db1/Acc/2/h', 'b');
      await b.add('db2/Acc/1/h', 'c');
      expect((await b.get('db1/Acc/1/h')).value).toBe('a');
      expect((await b.get('db1/Acc/2/h')).value).toBe('b');
      expect((await b.get('db2/Acc/1/h')).value).toBe('c');
    });

    it('folders stay in leaf order through in-order appends, out-of-order writes, removes and rolled-back batches', async () => {
      // A model of folder f2/: leaf -> value. Leaves are written in order first (the
      // memory backend's array fast path), then out of order past 64 leaves (its Map fallback).
      const model = new Map<string, number>();
      const leaf = (i: number) => String(i).padStart(4, '0');
      const check = async () => {
        const want = [...model.keys()].sort().map((l) => [`f2/${l}`, model.get(l)]);
        expect((await b.list('f2/')).map((r) => [r.key, r.value])).toEqual(want);
        expect((await b.list('f2/', { start: leaf(50), end: leaf(120), limit: 7 })).map((r) => r.key)).toEqual(
          want.filter(([k]) => (k as string) >= `f2/${leaf(50)}` && (k as string) <= `f2/${leaf(120)}`).slice(0, 7).map(([k]) => k),
        );
      };
      const ops = [];
      for (let i = 0; i < 200; i += 2) {
        ops.push({ op: 'set' as const, key: `f2/${leaf(i)}`, value: i });
        model.set(leaf(i), i);
      }
      await b.batch(ops);
      await check();
      // a failing batch that appended past the end and overwrote in the middle leaves nothing behind
      const err = await b.batch([
        { op: 'add', key: `f2/${leaf(300)}`, value: 300 },
        { op: 'set', key: `f2/${leaf(10)}`, value: -10 },
        { op: 'remove', key: `f2/${leaf(198)}` },
        { op: 'add', key: `f2/${leaf(4)}`, value: 4 }, // exists: fails
      ]).catch((e: unknown) => e as { opIndex: number });
      expect(err.opIndex).toBe(3);
      await check();
      // out of order: odd leaves (inserted in the middle), removes, re-adds, a rolled back middle insert
      for (let i = 199; i > 0; i -= 6) {
        await b.add(`f2/${leaf(i)}`, i);
        model.set(leaf(i), i);
      }
      expect(await b.remove(`f2/${leaf(0)}`)).toBe(true);
      model.delete(leaf(0));
      expect(await b.remove(`f2/${leaf(198)}`)).toBe(true);
      model.delete(leaf(198));
      await b.add(`f2/${leaf(0)}`, 1000);
      model.set(leaf(0), 1000);
      expect(await code(b.batch([{ op: 'add', key: `f2/${leaf(101)}`, value: 1 }, { op: 'add', key: `f2/${leaf(2)}`, value: 2 }]))).toBe('RS_ERR_KV_DUPLICATE_KEY');
      await check();
      for (const l of [leaf(0), leaf(101), leaf(199), leaf(500)]) expect((await b.tryGet(`f2/${l}`))?.value).toBe(model.get(l));
    });

    it('fails with RS_ERR_CLOSED after close, naming the backend, not a provider', async () => {
      await b.close();
      expect(await code(b.add('t/a', 1))).toBe('RS_ERR_CLOSED');
      await expect(b.get('t/a')).rejects.toThrow(/key-value backend is closed/);
    });
  });
}
