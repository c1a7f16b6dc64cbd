import { ManualClock, MemoryBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';
import type { MemoryBackendOptions, NewEvent, StreamStoreProviderOptions } from '../../dist/src/streams/index.js';

/** A provider on a manual clock and a fresh memory backend (native stream logs unless `backendOptions` says otherwise). */
export function manual(options: StreamStoreProviderOptions = {}, backendOptions: Omit<MemoryBackendOptions, 'clock'> = {}) {
  const clock = new ManualClock();
  const backend = new MemoryBackend({ clock, ...backendOptions });
  const provider = new StreamStoreProvider({ clock, backend, ...options });
  return { clock, backend, provider };
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
