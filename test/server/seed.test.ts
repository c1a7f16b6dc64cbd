// Where a --nats daemon's ring store starts (src/server/replication/seed.ts), against a stand-in for the
// checkpoint stream: a checkpoint whose chunks a newer one purged is replaced by the newest (bounded
// attempts); a read that fails otherwise is not retried; a checkpoint newer than the log's last message
// seen at start is taken; images that do not load leave the store empty and the log is replayed when
// nothing was dropped (refused with RS_ERR_REPLICATION_GAP when something was).
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../dist/src/index.js';
import { seedStore } from '../../dist/src/server/replication/seed.js';
import { ChunkMissing } from '../../dist/src/server/replication/shared-checkpoints.js';

interface Ev { user: string; n: number; ts: number }
const stores: EventStore<Ev>[] = [];
const make = (capacity = 16): EventStore<Ev> => {
  const s = EventStore.create<Ev>({ capacity, partitions: 2, key: 'user', timestamp: 'ts', values: { n: 'n' } });
  stores.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

const manifest = (id: string, seq: number): Record<string, unknown> => ({ id, seq, sizing: 'S', logCreated: 'C', recent: [`r-${id}`], bytes: 0, chunks: [1] });

/** A checkpoint stream whose `latest()` answers the manifests in turn and whose `read()` does what `reads` says. */
function stand(latests: Record<string, unknown>[], reads: Record<string, () => Promise<Uint8Array[]>>): { calls: string[]; checkpoints: never } {
  const calls: string[] = [];
  let i = 0;
  return {
    calls,
    checkpoints: {
      latest: async () => {
        const m = latests[Math.min(i++, latests.length - 1)]!;
        calls.push(`latest ${String(m.id)}`);
        return { manifest: m, msgSeq: i };
      },
      read: async (m: { id: string }) => {
        calls.push(`read ${m.id}`);
        return reads[m.id]!();
      },
    } as never,
  };
}

async function filled(): Promise<{ images: () => Promise<Uint8Array[]>; source: EventStore<Ev> }> {
  const source = make();
  for (let i = 1; i <= 5; i++) await source.append({ user: `u${i % 3}`, n: i, ts: i });
  const images = await source.exportImages();
  return { source, images: async () => images.map((x) => x.slice()) };
}

const opts = (checkpoints: never, store: EventStore<Ev>, dropped: number, last: number) => ({
  checkpoints, store, stream: 'RINGSTORE_RING_STREAMS', dropped, last, sizing: 'S', logCreated: 'C', logger: pino({ level: 'silent' }),
});

describe('seedStore', () => {
  it('reads the newest checkpoint again when the one it read had its chunks purged', async () => {
    const { source, images } = await filled();
    const gone = async (): Promise<Uint8Array[]> => {
      throw new ChunkMissing('chunk 1 is missing');
    };
    const s = stand([manifest('a', 10), manifest('b', 20)], { a: gone, b: images });
    const store = make();
    expect(await seedStore(opts(s.checkpoints, store, 8, 30))).toEqual({ after: 20, newest: 20, recent: ['r-b'] });
    expect(s.calls).toEqual(['latest a', 'read a', 'latest b', 'read b']);
    expect(await store.snapshot()).toEqual(await source.snapshot());
  });

  it('gives up after a bounded number of purged reads: refused when messages were dropped, the log replayed when none were', async () => {
    const gone = async (): Promise<Uint8Array[]> => {
      throw new ChunkMissing('chunk 1 is missing');
    };
    const s = stand([manifest('a', 10)], { a: gone });
    await expect(seedStore(opts(s.checkpoints, make(), 5, 30))).rejects.toMatchObject({ code: 'RS_ERR_REPLICATION_GAP' });
    expect(s.calls.filter((c) => c.startsWith('read'))).toHaveLength(3);
    const t = stand([manifest('a', 10)], { a: gone });
    expect(await seedStore(opts(t.checkpoints, make(), 0, 30))).toEqual({ after: 0, newest: 10 });
  });

  it('does not take a failed read (a timeout) for a purged one: no retry', async () => {
    const s = stand([manifest('a', 10), manifest('b', 20)], {
      a: async () => {
        throw new Error('TIMEOUT');
      },
    });
    await expect(seedStore(opts(s.checkpoints, make(), 5, 30))).rejects.toMatchObject({ code: 'RS_ERR_REPLICATION_GAP' });
    expect(s.calls).toEqual(['latest a', 'read a']);
  });

  it('takes a checkpoint stored after the log\'s last message seen at start', async () => {
    const { source, images } = await filled();
    const store = make();
    expect(await seedStore(opts(stand([manifest('a', 31)], { a: images }).checkpoints, store, 0, 30))).toMatchObject({ after: 31 });
    expect(await store.snapshot()).toEqual(await source.snapshot());
  });

  it('images that do not load: the store stays empty and the log is replayed, or refused when messages were dropped', async () => {
    const { images } = await filled();
    const store = make(32);
    expect(await seedStore(opts(stand([manifest('a', 10)], { a: images }).checkpoints, store, 0, 30))).toEqual({ after: 0, newest: 10 });
    expect(await store.count()).toBe(0);
    await expect(seedStore(opts(stand([manifest('a', 10)], { a: images }).checkpoints, store, 5, 30))).rejects.toMatchObject({ code: 'RS_ERR_REPLICATION_GAP' });
    expect(await store.count()).toBe(0);
  });
});
