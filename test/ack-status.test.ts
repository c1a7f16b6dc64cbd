// The producer's side of the ack protocol at its edge: a status this build does not know is never
// taken for "stored", and a store of another build (another shared-memory protocol) cannot be attached.
import { describe, expect, it } from 'vitest';
import { AckPump, collector } from '../dist/src/store/ack-pump.js';
import { AckRingWriter, AckStatus } from '../dist/src/ring/ack-ring.js';
import { ControlMemory, PartitionMemory } from '../dist/src/ring/layout.js';
import { SHARED_MEMORY_PROTOCOL } from '../dist/src/ring/protocol.js';
import { EventStore } from '../dist/src/index.js';

const geometry = { capacity: 64, arenaBytes: 4096, inputBytes: 4096, valueCount: 0, maxProducers: 1, ackCapacity: 64, dedupWindow: 16, dormantKeys: 16 };

/** Settles one single-event call from an ack with `status`; resolves with its result or its error. */
async function settleWith(status: number): Promise<unknown> {
  const mem = PartitionMemory.allocate(geometry);
  const ctl = ControlMemory.allocate(1);
  const pump = new AckPump([mem], ctl, 0, () => {});
  try {
    const outcome = new Promise<unknown>((resolve) => {
      const c = collector([{ id: 'e1', key: 'k' }], -1, true, resolve, resolve);
      const ticket = pump.trackRange(0, c, 0, 1);
      mem.publishTail(2); // position 1 is committed, so an OK ack for it is read
      const writer = new AckRingWriter(mem, ctl);
      writer.write(0, ticket, status, 1, 1);
      writer.notify();
    });
    return await outcome;
  } finally {
    pump.stop();
  }
}

describe('ack statuses', () => {
  it('OK settles the call as stored (the harness itself works)', async () => {
    expect(await settleWith(AckStatus.OK)).toMatchObject({ id: 'e1', position: 1, version: 1, duplicate: false });
  });

  it.each([0, 8, 99])('an unknown status %i rejects with RS_ERR_WORKER instead of reporting the event stored', async (status) => {
    const r = await settleWith(status);
    expect(r).toBeInstanceOf(Error);
    expect(r).toMatchObject({ code: 'RS_ERR_WORKER', details: { status } });
  });
});

describe('descriptors of another build', () => {
  it('attach() and reader() refuse a descriptor with another shared-memory protocol, and accept their own', async () => {
    const store = EventStore.create<{ k: string }>({ partitions: 1, key: 'k' });
    try {
      const d = store.descriptor();
      expect(d.protocol).toBe(SHARED_MEMORY_PROTOCOL);
      for (const protocol of [undefined, SHARED_MEMORY_PROTOCOL - 1, SHARED_MEMORY_PROTOCOL + 1]) {
        const other = { ...d, protocol } as never;
        expect(() => EventStore.attach(other)).toThrow(expect.objectContaining({ code: 'RS_ERR_DESCRIPTOR', message: expect.stringMatching(/another ringstore build/) }));
        expect(() => EventStore.reader(other)).toThrow(expect.objectContaining({ code: 'RS_ERR_DESCRIPTOR' }));
      }
      const producer = EventStore.attach(d);
      expect((await producer.append({ k: 'a' })).version).toBe(1);
      await producer.close();
      const reader = EventStore.reader(d);
      expect((await reader.snapshot()).map((e) => e.key)).toEqual(['a']);
      reader.close();
    } finally {
      await store.close();
    }
  });
});
