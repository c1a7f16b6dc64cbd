// Type tests of ringstore/client and ringstore/server (see event-store.test-d.ts).
import { describe, expectTypeOf, test } from 'vitest';
import {
  AuthError, InvalidClientOptionError, NetworkError, NotFoundError, RemoteStreamSession, ResponseTooLargeError, RingstoreClient, RingstoreHttpError, SessionGoneError, VersionConflictError,
  type AppendResult, type HttpErrorCode, type StreamAggregate, type StreamItem,
} from 'ringstore/client';
import { HttpErrorCodes, resolveConfig, startServer, type RunningServer, type ServerConfig } from 'ringstore/server';
import type { RingstoreError } from 'ringstore';

const client = new RingstoreClient({ baseUrl: 'http://127.0.0.1:7070', token: 'secret-token', retries: 0 });

describe('RingstoreClient', () => {
  test('appends one event or a batch', () => {
    expectTypeOf(client.append('gateway/orders', { valor: 1 })).toEqualTypeOf<Promise<AppendResult>>();
    expectTypeOf(client.append('gateway/orders', [{ valor: 1 }], { expectedVersion: 0, format: 'ndjson' })).toEqualTypeOf<Promise<AppendResult[]>>();
    // @ts-expect-error an event is a JSON object
    void client.append('gateway/orders', 'valor=1');
    // @ts-expect-error the formats are json and ndjson
    void client.append('gateway/orders', [{ valor: 1 }], { format: 'csv' });
  });
  test('reads, subscribes and aggregates', () => {
    expectTypeOf(client.read('gateway/orders', { from: 1 })).toEqualTypeOf<AsyncGenerator<StreamItem>>();
    expectTypeOf<StreamItem>().toExtend<{ id: string; version: number; timestamp: string }>();
    expectTypeOf(client.aggregate('gateway/orders', { sum: 'valor' })).toEqualTypeOf<Promise<StreamAggregate>>();
    expectTypeOf(client.openSession('BankAccount/1')).toEqualTypeOf<Promise<RemoteStreamSession>>();
  });
  test('options are checked', () => {
    // @ts-expect-error retries is a number
    new RingstoreClient({ retries: 'three' });
    // @ts-expect-error unknown option
    new RingstoreClient({ baseURL: 'http://127.0.0.1:7070' });
    new RingstoreClient({ maxRetryDelayMs: 0, maxSseMessageBytes: 1024 });
    // @ts-expect-error maxRetryDelayMs is a number of ms
    new RingstoreClient({ maxRetryDelayMs: '30s' });
    // @ts-expect-error maxSseMessageBytes is a number of bytes
    new RingstoreClient({ maxSseMessageBytes: '1MiB' });
  });
  test('errors keep the server code and are RingstoreErrors', () => {
    expectTypeOf<RingstoreHttpError>().toExtend<RingstoreError>();
    expectTypeOf<RingstoreHttpError>().toExtend<{ code: string; status: number }>();
    expectTypeOf<VersionConflictError>().toExtend<RingstoreHttpError>();
    expectTypeOf<AuthError>().toExtend<RingstoreHttpError>();
    expectTypeOf<NotFoundError>().toExtend<RingstoreHttpError>();
    expectTypeOf<SessionGoneError>().toExtend<RingstoreHttpError>();
    expectTypeOf<NetworkError>().toExtend<RingstoreError>();
    expectTypeOf<ResponseTooLargeError>().toExtend<RingstoreError>();
    expectTypeOf<ResponseTooLargeError['limit']>().toEqualTypeOf<number>();
    expectTypeOf<InvalidClientOptionError>().toExtend<RingstoreError>();
    // The client's codes are the daemon's: one table for both.
    expectTypeOf<RingstoreHttpError['code']>().toEqualTypeOf<HttpErrorCode>();
    expectTypeOf<keyof typeof HttpErrorCodes>().toEqualTypeOf<HttpErrorCode>();
    expectTypeOf<'RS_ERR_NOT_READY'>().toExtend<HttpErrorCode>();
    // @ts-expect-error backend-level codes never reach HTTP
    expectTypeOf<'RS_ERR_KV_CONCURRENCY'>().toExtend<HttpErrorCode>();
  });
});

describe('ringstore/server', () => {
  test('resolveConfig fills the defaults; startServer gives the URL', () => {
    expectTypeOf(resolveConfig({ port: 0 })).toEqualTypeOf<ServerConfig>();
    expectTypeOf(startServer(resolveConfig())).toEqualTypeOf<Promise<RunningServer>>();
    expectTypeOf<RunningServer>().toExtend<{ url: string; port: number }>();
    // @ts-expect-error port is a number
    resolveConfig({ port: '7070' });
  });
});
