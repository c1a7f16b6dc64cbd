// A replicated ring store (src/server/replication/replica.ts) against a stand-in JetStream: what happens to
// appends still waiting to be published when this daemon finds a gap in its log (docs/jetstream.md: it
// "refuses ring-store writes ... at once with the same 503, before publishing anything").
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RingReplica } from '../../dist/src/server/replication/replica.js';
import { FakeLog } from './fake-jetstream-log.js';

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void }
const deferred = <T>(): Deferred<T> => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('replicated ring store (stand-in JetStream)', () => {
  it('appends still waiting to be published when a gap is found are refused with RS_ERR_REPLICATION_GAP, not published', async () => {
    const geometry = { partitions: 1, capacity: 16 };
    const log = new FakeLog();
    const publishes: { subject: string; acked: Deferred<{ seq: number }> }[] = [];
    const js = {
      consumers: log.consumers(),
      publish: (subject: string) => {
        const acked = deferred<{ seq: number }>();
        publishes.push({ subject, acked });
        // A third publish would be acknowledged at once (its POST then waits for an apply that never comes).
        if (publishes.length > 2) acked.resolve({ seq: 100 + publishes.length });
        return acked.promise;
      },
    };
    const jsm = {
      streams: {
        info: async () => ({
          config: { description: `ringstore ring store ${JSON.stringify({ format: 2, ...geometry })}`, retention: 'limits', discard: 'old', subjects: ['ringstore.ring.streams'] },
          state: { messages: 0, first_seq: 0, last_seq: 0 },
          created: '2026-01-01T00:00:00Z',
        }),
      },
    };
    const store = { capacity: 16, geometry, append: async (records: unknown[]) => records.map(() => ({ id: 'x', partition: 0, position: 1, version: 1, duplicate: false })) };
    const gaps: unknown[] = [];
    const r = await RingReplica.open({
      nc: { info: { max_payload: 1_048_576 } }, js, jsm, name: 'streams', store, replicas: 1, writeTimeoutMs: 2_000,
      checkpoints: { latest: async () => null }, checkpointEvery: 0, checkpointMinMs: 0, checkpointClaimMs: 30_000,
      onGap: (...a: unknown[]) => gaps.push(a), logger: pino({ level: 'silent' }),
    } as never);
    try {
      // Two publishes in flight (the window), the third append waits for one of them to finish.
      const outcomes = [1, 2, 3].map((i) => r.append([{ n: i }], undefined, [`id-${i}`]).then(() => 'ok', (e: { code?: string }) => e.code));
      expect(publishes).toHaveLength(2);
      // Retention dropped messages 1..4 before this daemon applied them: a gap.
      log.push({ seq: 5, subject: 'ringstore.ring.streams', data: new TextEncoder().encode('{}'), headers: { get: () => '' } });
      while (gaps.length === 0) await new Promise((res) => setImmediate(res));
      // The two in flight are acknowledged (stored: their outcome is what the log says).
      publishes[0]!.acked.resolve({ seq: 6 });
      publishes[1]!.acked.resolve({ seq: 7 });
      expect(await Promise.all(outcomes)).toEqual(['RS_ERR_REPLICATION_GAP', 'RS_ERR_REPLICATION_GAP', 'RS_ERR_REPLICATION_GAP']);
      // The third was never published: the other daemons would apply it, this one never answer it.
      expect(publishes).toHaveLength(2);
    } finally {
      await r.close();
    }
  });
});
