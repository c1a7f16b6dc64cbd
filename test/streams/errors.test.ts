// The error table, the error classes and docs/streams.md stay in sync.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as streams from '../../dist/src/streams/index.js';
import { RingstoreError } from '../../dist/src/errors.js';

const docs = readFileSync(new URL('../../docs/streams.md', import.meta.url), 'utf8');
const rows = [...docs.matchAll(/^\| `(RS_ERR_[A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => ({ code: m[1]!, cls: m[2]! }));

describe('stream error codes', () => {
  it('every code of StreamErrorCodes has one row in docs/streams.md, and every row is a code', () => {
    const codes = Object.keys(streams.StreamErrorCodes).sort();
    expect(rows.map((r) => r.code).sort()).toEqual(codes);
  });

  it('every documented class is exported, extends RingstoreError and carries its code', () => {
    const samples: Record<string, unknown[]> = {
      InvalidStreamArgumentError: ['m'],
      InvalidStreamOptionError: ['m'],
      ProviderClosedError: [],
      StoreNotOpenError: ['s', 'sid'],
      StoreSessionExpiredError: ['s', 'sid', 0],
      InvalidStoreSessionError: ['s', 'sid', 'other'],
      OpenStoreFailedError: ['s', 1, 'why'],
      StoreVersionMismatchError: ['s', 1, 2],
      StreamVersionNotFoundError: ['s', 3, 2],
      StreamSnapshotVersionNotFoundError: ['s', 3],
      StreamIdempotencyIdNotFoundError: ['s', 'id'],
      DuplicateIdempotencyIdError: ['s', 'id', 1],
      StoreBackendError: ['op', 's', new Error('io')],
      KvDuplicateKeyError: ['k'],
      KvKeyNotFoundError: ['k'],
      KvConcurrencyError: ['k', 'a', 'b'],
    };
    for (const { code, cls } of rows) {
      const Ctor = (streams as unknown as Record<string, new (...a: unknown[]) => RingstoreError>)[cls];
      expect(Ctor, cls).toBeTypeOf('function');
      const err = new Ctor(...samples[cls]!);
      expect(err).toBeInstanceOf(RingstoreError);
      expect(err.code, cls).toBe(code);
      expect(err.name).toBe(cls);
      expect(err.message.length).toBeGreaterThan(0);
    }
    expect(Object.keys(samples).sort()).toEqual(rows.map((r) => r.cls).sort());
  });

  it('a backend failure keeps its cause', () => {
    const io = new Error('disk');
    expect(new streams.StoreBackendError('append', 's', io).cause).toBe(io);
  });
});

describe('backend options', () => {
  // The provider refused a misspelt option; the backends ignored one and used its default silently:
  // NatsBackend({ replica: 3 }) created a one-replica stream, LmdbBackend({ nosync: true }) synced anyway.
  const dir = `/tmp/rs-never-created-${process.pid}`;
  const cases: [string, () => unknown][] = [
    ['MemoryBackend nativeStream', () => new streams.MemoryBackend({ nativeStream: false } as never)],
    ['LmdbBackend nosync', () => new streams.LmdbBackend({ path: dir, nosync: true } as never)],
    ['LmdbBackend noSync not a boolean', () => new streams.LmdbBackend({ path: dir, noSync: 'yes' } as never)],
    ['NatsBackend replica', () => new streams.NatsBackend({ servers: 'nats://127.0.0.1:1', replica: 3 } as never)],
    // `defaults: null` was read as "no defaults" (null ?? {}), unlike any other non-object.
    ['StreamStoreProvider defaults null', () => new streams.StreamStoreProvider({ defaults: null } as never)],
  ];
  for (const [name, make] of cases) {
    it(`${name} is refused with RS_ERR_INVALID_OPTION before anything is opened`, () => {
      expect(make).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
    });
  }
});

describe('read options', () => {
  it('useSnapshot must be a boolean: 1 or "true" read the whole stream, silently ignoring the snapshot', async () => {
    const provider = new streams.StreamStoreProvider();
    try {
      const s = await provider.open('Acc/1');
      await s.append([{ type: 'E', data: 1 }, { type: 'E', data: 2 }]);
      await s.snapshot(1, { n: 1 });
      for (const useSnapshot of [1, 'true', null]) {
        await expect(s.read({ useSnapshot } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/useSnapshot/) });
      }
      expect((await s.read({ useSnapshot: true })).events.map((e) => e.version)).toEqual([2]);
    } finally {
      await provider.close();
    }
  });
});
