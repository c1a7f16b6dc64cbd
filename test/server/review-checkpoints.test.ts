// Shared checkpoints of the ring stores (src/server/replication/shared-checkpoints.ts) on a nats-server of
// their own, with the client's publish wrapped to lose an acknowledgement: a checkpoint whose manifest
// was stored must stay readable whatever its writer was told.
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { packImages } from '../../dist/src/server/replication/checkpoint-codec.js';
import { SharedCheckpoints } from '../../dist/src/server/replication/shared-checkpoints.js';
import { startSingleServer, type NatsServerProcess } from '../nats/server.js';

let nats: NatsServerProcess | undefined;
let nc: NatsConnection | undefined;
afterEach(async () => {
  await nc?.close();
  nc = undefined;
  await nats?.stop();
  nats = undefined;
});

/** `js` whose publishes on `subject` are stored but answered with a timeout (an ack lost in a leader change). */
function losingAcks(js: JetStreamClient, subject: string): JetStreamClient {
  return new Proxy(js, {
    get(target, prop, receiver) {
      if (prop !== 'publish') return Reflect.get(target, prop, receiver) as unknown;
      return async (subj: string, ...rest: unknown[]) => {
        const ack = await (target.publish as (...a: unknown[]) => Promise<unknown>)(subj, ...rest);
        if (subj === subject) throw new errors.TimeoutError();
        return ack;
      };
    },
  });
}

describe('shared checkpoints: a manifest stored but not acknowledged', () => {
  it('leaves the checkpoint it names readable (its chunks are not purged)', async () => {
    nats = await startSingleServer();
    nc = await connect({ servers: [nats.url] });
    const jsm = await jetstreamManager(nc);
    const js = losingAcks(jetstream(nc), 'ringstore.ring-ckpt.streams.m');
    const cps = await SharedCheckpoints.open({ nc, js, jsm, name: 'streams', replicas: 1, logger: pino({ level: 'silent' }) });
    const images = [new Uint8Array([1, 2, 3, 4]), new Uint8Array([5, 6, 7])];
    const packed = await packImages(images);
    // The writer is told the manifest's publish failed (its outcome unknown)...
    await expect(cps.publish({ seq: 40, sizing: 'S', logCreated: 'C', by: 'w', recent: [] }, packed, null)).rejects.toThrow();
    // ...but JetStream stored it: it is the newest checkpoint, and a late daemon loads it.
    const latest = await cps.latest();
    expect(latest?.manifest).toMatchObject({ seq: 40 });
    expect(await cps.read(latest!.manifest!)).toEqual(images);
  }, 60_000);
});
