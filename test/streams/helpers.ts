import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { LmdbBackend, ManualClock, MemoryBackend, NatsBackend, StreamStoreProvider, systemClock } from '../../dist/src/streams/index.js';
import type { Clock, KeyValueBackend, MemoryBackendOptions, NewEvent, StreamStoreProviderOptions } from '../../dist/src/streams/index.js';
import { sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';

/** A provider on a manual clock and a fresh memory backend (native stream logs unless `backendOptions` says otherwise). */
export function manual(options: StreamStoreProviderOptions = {}, backendOptions: Omit<MemoryBackendOptions, 'clock'> = {}) {
  const clock = new ManualClock();
  const backend = new MemoryBackend({ clock, ...backendOptions });
  const provider = new StreamStoreProvider({ clock, backend, ...options });
  return { clock, backend, provider };
}

/** The backends the parameterised suites run on. */
export type BackendKind = 'memory' | 'lmdb' | 'nats';
export const BACKEND_KINDS: readonly BackendKind[] = ['memory', 'lmdb', 'nats'];

/** What a parameterised suite gets: the same helpers for every backend kind. */
export interface BackendSuite {
  readonly kind: BackendKind;
  /**
   * A provider on a manual clock and a fresh backend of this kind. `backendOptions`
   * apply to the memory backend only; everything is closed after the test.
   */
  manual(options?: StreamStoreProviderOptions, backendOptions?: Omit<MemoryBackendOptions, 'clock'>): { clock: ManualClock; backend: KeyValueBackend; provider: StreamStoreProvider };
  /** A provider on the system clock and a fresh backend of this kind (closed after the test). */
  real(options?: StreamStoreProviderOptions): StreamStoreProvider;
  /** A fresh backend of this kind on `clock` (closed after the test). */
  backendOn(clock: Clock): KeyValueBackend;
}

let natsNames = 0;

/**
 * Registers `body` once per backend kind, as `describe("<title> [<kind>]")`.
 * NATS suites use the file's own nats-server (test/nats/server.ts, stopped
 * after the caller's suite), each backend on a fresh JetStream stream.
 */
export function describeBackends(title: string, body: (suite: BackendSuite) => void, kinds: readonly BackendKind[] = BACKEND_KINDS): void {
  // In the caller's scope (the file, for top-level suites): one server for all of them.
  if (kinds.includes('nats')) afterAll(stopSharedNatsServer);
  for (const kind of kinds) {
    describe(`${title} [${kind}]`, () => {
      let natsUrl = '';
      if (kind === 'nats') {
        beforeAll(async () => {
          natsUrl = (await sharedNatsServer()).url;
        });
      }
      const cleanups: Array<() => Promise<void>> = [];
      afterEach(async () => {
        // Providers before backends: closing a session writes to its backend.
        for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
      });
      const backendOn = (clock: Clock, backendOptions: Omit<MemoryBackendOptions, 'clock'> = {}): KeyValueBackend => {
        let backend: KeyValueBackend;
        if (kind === 'memory') backend = new MemoryBackend({ clock, ...backendOptions });
        else if (kind === 'lmdb') {
          const dir = mkdtempSync(join(tmpdir(), 'rs-suite-'));
          backend = new LmdbBackend({ path: dir, clock, noSync: true });
          cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
        } else {
          const n = `T${process.pid}_${++natsNames}`;
          backend = new NatsBackend({ servers: natsUrl, stream: n, subjectPrefix: `rs.${n}`, clock });
        }
        cleanups.push(() => backend.close());
        return backend;
      };
      const providerOn = (clock: Clock, backend: KeyValueBackend, options: StreamStoreProviderOptions): StreamStoreProvider => {
        const provider = new StreamStoreProvider({ clock, backend, ...options });
        cleanups.push(() => provider.close());
        return provider;
      };
      body({
        kind,
        manual: (options = {}, backendOptions = {}) => {
          const clock = new ManualClock();
          const backend = backendOn(clock, backendOptions);
          return { clock, backend, provider: providerOn(clock, backend, options) };
        },
        real: (options = {}) => providerOn(systemClock, backendOn(systemClock), options),
        backendOn: (clock) => backendOn(clock),
      });
    });
  }
}

/** Events `{ type: 'E', data: { n } }` for n in [from, from + count). */
export function evs(from: number, count: number, type = 'E'): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({ type, data: { n: from + i } }));
}

/** The code of what `p` rejects with, or 'resolved'. */
export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped: ${String(e)}`;
  }
  return 'resolved';
}

/** The error `p` rejects with (fails the test if it resolves). */
export async function rejection<T = Record<string, unknown>>(p: Promise<unknown>): Promise<T & Error & { code: string }> {
  try {
    await p;
  } catch (e) {
    return e as T & Error & { code: string };
  }
  throw new Error('expected a rejection');
}
