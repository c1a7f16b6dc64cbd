/**
 * BankAccount: a working event-sourcing example on `ringstore/streams`
 * (the reference's example failed on its first append; this one is run by the
 * test suite, `test/streams/example.test.ts`).
 *
 * It shows auto-versioned appends, an append with an expected version,
 * idempotent commands, interval snapshots and a read that starts from a snapshot.
 */
import { StreamStoreProvider, StoreVersionMismatchError, type StreamEvent, type KeyValueBackend } from 'ringstore/streams';

/** Events of a bank account. */
export type BankAccountEvent =
  | { type: 'BankAccountCreated'; data: { owner: string; currency: string } }
  | { type: 'FundsDeposited'; data: { amount: number } }
  | { type: 'FundsWithdrawn'; data: { amount: number } };

/** State rebuilt from the events. */
export interface BankAccount {
  owner: string;
  currency: string;
  balance: number;
  transactions: number;
}

/** Applies events to a state (the aggregate's `evolve`). */
export function evolve(state: BankAccount | undefined, events: readonly StreamEvent[]): BankAccount {
  let s = state ?? { owner: '', currency: '', balance: 0, transactions: 0 };
  for (const e of events) {
    const ev = { type: e.type, data: e.data } as BankAccountEvent;
    switch (ev.type) {
      case 'BankAccountCreated':
        s = { ...s, owner: ev.data.owner, currency: ev.data.currency };
        break;
      case 'FundsDeposited':
        s = { ...s, balance: s.balance + ev.data.amount, transactions: s.transactions + 1 };
        break;
      case 'FundsWithdrawn':
        if (ev.data.amount > s.balance) throw new Error('overdraft in history');
        s = { ...s, balance: s.balance - ev.data.amount, transactions: s.transactions + 1 };
        break;
    }
  }
  return s;
}

/** Runs the example; returns what it printed, for the test. */
export async function main(options: { backend?: KeyValueBackend; log?: (line: string) => void } = {}): Promise<{ version: number; account: BankAccount; lines: string[] }> {
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    options.log?.(line);
  };
  const provider = new StreamStoreProvider({ backend: options.backend });
  // The stream id is the account id: no mismatch between stream and events.
  const account = await provider.open({ name: 'BankAccount', id: '1500530001' });
  try {

    // Auto-versioned appends: versions 1, 2 (one atomic append), then 3, then 4.
    await account.append([
      { type: 'BankAccountCreated', data: { owner: 'Joe Dalton', currency: 'EUR' } },
      { type: 'FundsDeposited', data: { amount: 1500 } },
    ]);
    await account.append([{ type: 'FundsWithdrawn', data: { amount: 500 } }]);
    await account.append([{ type: 'FundsDeposited', data: { amount: 1000 } }]);

    // Optimistic concurrency: the next event must get version 5.
    await account.append([{ type: 'FundsWithdrawn', data: { amount: 500 }, expectedVersion: 5 }]);
    try {
      await account.append([{ type: 'FundsWithdrawn', data: { amount: 1 } }], { expectedVersion: 4 });
    } catch (e) {
      if (!(e instanceof StoreVersionMismatchError)) throw e;
      log(`stale command rejected: expected ${e.expected}, stream at ${e.actual}`);
    }

    // Idempotent commands: the command id is the event id; a retry is recognised.
    await account.append([{ id: 'deposit-cmd-42', type: 'FundsDeposited', data: { amount: 250 } }]);
    try {
      await account.append([{ id: 'deposit-cmd-42', type: 'FundsDeposited', data: { amount: 250 } }]);
    } catch (e) {
      if ((e as { code?: string }).code !== 'RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID') throw e;
      log(`retry ignored: deposit-cmd-42 is version ${await account.versionOf('deposit-cmd-42')}`);
    }

    // Snapshots every 3 events, each computed from the previous snapshot and the events since.
    for (let i = 0; i < 4; i++) await account.append([{ type: 'FundsDeposited', data: { amount: 10 } }]);
    const snapshots = await account.snapshotEvery<BankAccount>(3, (state, events) => evolve(state, events));
    log(`snapshots at ${snapshots.join(', ')}`);

    // Load: the latest snapshot plus the events after it.
    const { snapshot, events } = await account.read<BankAccount>({ useSnapshot: true });
    const state = evolve(snapshot?.state, events);
    const version = await account.version();
    log(`${state.owner}: ${state.balance} ${state.currency} after ${state.transactions} transactions (version ${version}, from snapshot ${snapshot?.version ?? 0} + ${events.length} events)`);
    return { version, account: state, lines };
  } finally {
    // (`await using account = …` does this in TypeScript 5.2+; plain JavaScript needs Node 24 for it.)
    await account.close();
    await provider.close();
  }
}

// Run directly: `node --experimental-strip-types docs/examples/bank-account.ts` (Node 22.6+),
// or through the test suite on Node 20.
if (import.meta.url === `file://${process.argv[1]}`) {
  await main({ log: (l) => process.stdout.write(`${l}\n`) });
}
