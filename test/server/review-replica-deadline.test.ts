// A replicated ring store (src/server/replication/replica.ts) against a stand-in JetStream: an append that
// JetStream acknowledged late (its publish waited for a free slot behind slow ones, or its last attempt was
// answered after its deadline) is answered with its outcome once applied here, not with a 503 that says
// "stored but not applied within writeTimeoutMs" when this daemon was given no time at all to apply it.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RingReplica } from '../../dist/src/server/replication/replica.js';
import { FakeLog } from './fake-jetstream-log.js';

describe('replicated ring store: time to apply an acknowledged append (stand-in JetStream)', () => {
  it('appends acknowledged after their publish deadline are answered once applied here', async () => {
    const geometry = { partitions: 1, capacity: 16 };
    const log = new FakeLog();
    const WRITE_TIMEOUT_MS = 1_000;
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    let published = 0;
    let stored = 0;
    const js = {
      consumers: log.consumers(),
      // Stores the message and acknowledges it (the first two, the window, only once released); the
      // consumer gets it 20 ms later (a round trip to the server).
      publish: async (subject: string, data: Uint8Array, o: { msgID: string }) => {
        if (++published <= 2) await slow;
        const seq = ++stored;
        setTimeout(() => log.push({ seq, subject, data, headers: { get: (k: string) => (k === 'Nats-Msg-Id' ? o.msgID : '') } }), 20);
        return { seq };
      },
    };
    const jsm = {
      streams: {
        info: async () => ({
          config: { description: `ringstore ring store ${JSON.stringify({ format: 2, ...geometry })}`, retention: 'limits', discard: 'old', subjects: ['ringstore.ring.streams'] },
          state: { messages: log.msgs.length, first_seq: log.msgs.length > 0 ? 1 : 0, last_seq: log.msgs.length },
          created: '2026-01-01T00:00:00Z',
        }),
      },
    };
    let version = 0;
    const store = { capacity: 16, geometry, append: async (records: unknown[]) => records.map(() => ({ id: 'x', partition: 0, position: ++version, version, duplicate: false })) };
    const r = await RingReplica.open({
      nc: { info: { max_payload: 1_048_576 } }, js, jsm, name: 'streams', store, replicas: 1, writeTimeoutMs: WRITE_TIMEOUT_MS,
      checkpoints: { latest: async () => null }, checkpointEvery: 0, checkpointMinMs: 0, checkpointClaimMs: 30_000,
      onGap: () => undefined, logger: pino({ level: 'silent' }),
    } as never);
    try {
      // Two publishes in flight (the window), the third waits for a slot.
      const outcomes = [1, 2, 3].map((i) => r.append([{ n: i }], undefined, [`id-${i}`]).then(() => 'ok', (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`));
      // JetStream answers the two in flight just after every deadline passed (as a last attempt can be);
      // the third is then published and acknowledged at once. All three are stored, and applied here at once.
      await new Promise((res) => setTimeout(res, WRITE_TIMEOUT_MS + 50));
      release();
      expect(await Promise.all(outcomes)).toEqual(['ok', 'ok', 'ok']);
      expect(log.msgs).toHaveLength(3);
    } finally {
      await r.close();
    }
  });
});
