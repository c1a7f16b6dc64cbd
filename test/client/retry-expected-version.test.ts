// A retried append whose first answer was lost after the daemon stored it must not report a version conflict.
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig, startServer } from '../../dist/src/server/index.js';
import { RingstoreClient, VersionConflictError } from '../../dist/src/client/index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** A fetch that lets the first POST reach the daemon, then loses its answer (a reset after the server stored). */
function losingFirstAnswer(): typeof fetch {
  let posts = 0;
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await fetch(input, init);
    if (init?.method === 'POST' && ++posts === 1) {
      await res.arrayBuffer();
      throw new TypeError('fetch failed (connection reset)');
    }
    return res;
  }) as typeof fetch;
}

describe('RingstoreClient: retried appends with an expected version', () => {
  for (const [name, input, options] of [
    ['one event with an id', { id: 'x', valor: 1 }, { expectedVersion: 0 }],
    ['a batch with an idempotency key', [{ valor: 1 }, { valor: 2 }], { expectedVersion: 0, idempotencyKey: 'k' }],
  ] as const) {
    it(`${name}: stored once, and never reported as a conflict`, async () => {
      const server = await startServer(resolveConfig({ port: 0, logLevel: 'silent', partitions: 1, ingestThreads: 0 }));
      closers.push(() => server.close());
      const c = new RingstoreClient({ baseUrl: server.url, retries: 2, retryBaseMs: 1, fetch: losingFirstAnswer() });
      const outcome = await (c.append('s/a', input as never, options) as Promise<unknown>).catch((e: unknown) => e);
      // The append was stored: a VersionConflictError ("nothing stored") would be false.
      expect(outcome).not.toBeInstanceOf(VersionConflictError);
      const plain = new RingstoreClient({ baseUrl: server.url });
      expect((await plain.readPage('s/a')).events.length).toBe(Array.isArray(input) ? input.length : 1);
    });
  }
});
