// Runs the BankAccount example of docs/examples.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbBackend, NatsBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';
import { sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';
import { evolve, main } from '../../docs/examples/bank-account.js';

describe('docs/examples/bank-account.ts', () => {
  it('runs on the memory backend', async () => {
    const { version, account, lines } = await main();
    expect(version).toBe(10);
    expect(account).toEqual({ owner: 'Joe Dalton', currency: 'EUR', balance: 1790, transactions: 9 });
    expect(lines).toEqual([
      'stale command rejected: expected 4, stream at 5',
      'retry ignored: deposit-cmd-42 is version 6',
      'snapshots at 3, 6, 9',
      'Joe Dalton: 1790 EUR after 9 transactions (version 10, from snapshot 9 + 1 events)',
    ]);
  });

  it('runs on the lmdb backend', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-bank-'));
    const backend = new LmdbBackend({ path: dir });
    try {
      const { account } = await main({ backend });
      expect(account.balance).toBe(1790);
    } finally {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  afterAll(stopSharedNatsServer);
  it('runs on the nats backend, and a second process (backend) sees the same account', async () => {
    const servers = (await sharedNatsServer()).url;
    const backend = await NatsBackend.connect({ servers, stream: 'BANK', subjectPrefix: 'bank' });
    const other = await NatsBackend.connect({ servers, stream: 'BANK', subjectPrefix: 'bank' });
    try {
      const { account } = await main({ backend });
      expect(account.balance).toBe(1790);
      const provider = new StreamStoreProvider({ backend: other });
      const s = await provider.open({ name: 'BankAccount', id: '1500530001' }, { openTimeoutMs: 0 });
      expect(await s.version()).toBe(10);
      await provider.close();
    } finally {
      await backend.close();
      await other.close();
    }
  });

  it('evolve rejects an overdraft in history', () => {
    expect(() => evolve(undefined, [{ id: 'x', type: 'FundsWithdrawn', data: { amount: 1 }, metadata: { correlationId: 'x', createdAt: '' }, version: 1 }])).toThrow(/overdraft/);
  });
});
