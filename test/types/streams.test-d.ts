// Type tests of ringstore/streams (see event-store.test-d.ts).
import { describe, expectTypeOf, test } from 'vitest';
import {
  LmdbBackend, MemoryBackend, StoreVersionMismatchError, StreamErrorCodes, StreamSession, StreamStoreProvider,
  type KeyValueBackend, type StreamErrorCode, type NewEvent, type ReadResult, type StreamEvent,
} from 'ringstore/streams';
import type { ErrorCode, RingstoreError } from 'ringstore';

describe('StreamStoreProvider', () => {
  test('takes a backend and opens sessions', () => {
    expectTypeOf<MemoryBackend>().toExtend<KeyValueBackend>();
    expectTypeOf<LmdbBackend>().toExtend<KeyValueBackend>();
    const provider = new StreamStoreProvider({ backend: new MemoryBackend(), defaults: { openTimeoutMs: 0 } });
    expectTypeOf(provider.open('BankAccount/1')).toEqualTypeOf<Promise<StreamSession>>();
    expectTypeOf(provider.open({ name: 'BankAccount', id: '1' }, { sessionTimeoutMs: 1000 })).toEqualTypeOf<Promise<StreamSession>>();
    // @ts-expect-error a stream id has a name and an id
    void provider.open({ name: 'BankAccount' });
    // @ts-expect-error an LMDB backend needs its path
    new LmdbBackend({ noSync: true });
  });
});

describe('StreamSession', () => {
  type Balance = { balance: number };
  const session = {} as StreamSession;
  test('appends resolve with the new head version; reads with a snapshot are typed by its state', () => {
    expectTypeOf(session.append([{ type: 'FundsDeposited', data: { amount: 5 } }], { expectedVersion: 0 })).toEqualTypeOf<Promise<number>>();
    expectTypeOf(session.version()).toEqualTypeOf<Promise<number>>();
    expectTypeOf(session.read<Balance>({ useSnapshot: true })).toEqualTypeOf<Promise<ReadResult<Balance>>>();
    expectTypeOf<StreamEvent>().toExtend<{ id: string; type: string; version: number }>();
    expectTypeOf<NewEvent>().toHaveProperty('type');
    // @ts-expect-error an event has a type
    void session.append([{ data: { amount: 5 } }]);
  });
  test('version conflicts are RingstoreErrors with both versions', () => {
    expectTypeOf<StoreVersionMismatchError>().toExtend<RingstoreError>();
    expectTypeOf<StoreVersionMismatchError>().toExtend<{ expected: number; actual: number }>();
  });
  test('the streams\' codes are a part of the one union of codes', () => {
    expectTypeOf<keyof typeof StreamErrorCodes>().toEqualTypeOf<StreamErrorCode>();
    expectTypeOf<StreamErrorCode>().toExtend<ErrorCode>();
    expectTypeOf<'RS_ERR_KV_CONCURRENCY' | 'RS_ERR_STORE_OPEN_FAILED' | 'RS_ERR_CLOSED'>().toExtend<StreamErrorCode>();
    // @ts-expect-error a store-only code is not a streams code
    expectTypeOf<'RS_ERR_WINDOW_DISABLED'>().toExtend<StreamErrorCode>();
  });
});
