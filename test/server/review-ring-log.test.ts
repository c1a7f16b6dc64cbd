// The ring-store log's limits (src/server/replication/ring-log.ts) on a nats-server of its own: a log whose
// limits drop messages sooner than the ring evicts events (fewer messages, an age or byte limit, deletes
// allowed) makes daemons lose messages they have not applied (a gap) and outruns the shared checkpoints,
// so a daemon is refused on it (ensureRingLog: "@throws RS_ERR_INVALID_OPTION when the stream exists with
// another sizing or other limits").
import { connect, nanos } from '@nats-io/transport-node';
import { jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import { startSingleServer, type NatsServerProcess } from '../nats/server.js';
import { startDaemon, type TestDaemon } from './helpers.js';

const CAPACITY = 64;
let nats: NatsServerProcess | undefined;
const daemons: TestDaemon[] = [];
afterEach(async () => {
  await Promise.allSettled(daemons.splice(0).map((d) => d.close()));
  await nats?.stop();
  nats = undefined;
});

async function edit(change: Partial<StreamConfig>): Promise<void> {
  const nc = await connect({ servers: [nats!.url] });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('RINGSTORE_RING_STREAMS');
    await jsm.streams.update('RINGSTORE_RING_STREAMS', { ...info.config, ...change });
  } finally {
    await nc.close();
  }
}

describe('ring-store log limits', () => {
  for (const [what, change] of [
    ['fewer messages than the capacity', { max_msgs: CAPACITY / 2 }],
    ['an age limit', { max_age: nanos(600_000) }],
    ['a byte limit', { max_bytes: 1_000_000 }],
  ] as const) {
    it(`a log with ${what} is refused (RS_ERR_INVALID_OPTION)`, async () => {
      nats = await startSingleServer();
      const first = await startDaemon({ nats: [nats.url], capacity: CAPACITY, natsCheckpointEvery: 0 });
      await first.close();
      await edit(change);
      const late = startDaemon({ nats: [nats.url], capacity: CAPACITY, natsCheckpointEvery: 0 });
      late.then((d) => daemons.push(d), () => undefined);
      await expect(late).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
    }, 60_000);
  }
});
