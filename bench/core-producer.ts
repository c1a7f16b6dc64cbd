/**
 * Producer-thread fixture of `bench/core.ts` (row "two producer threads vs
 * one"): attaches to the store by descriptor (`EventStore.attach`) and, on
 * each `{ cmd: 'run', n, start }` message, appends `n` events with the same
 * tryAppend-and-retry loop as the coordinator, then replies
 * `{ done: true, ms, refused }`. `{ cmd: 'close' }` frees the producer slot.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventStore, type EventStoreDescriptor } from '../src/index.js';
import { appendLoop, makeEvents, nowMs, type BenchEvent } from './core-util.js';

interface ProducerData {
  descriptor: EventStoreDescriptor;
  poolSize: number;
  seed: number;
}

type Command = { cmd: 'run'; n: number; start: number } | { cmd: 'close' };

if (parentPort === null) throw new Error('bench/core-producer.js must run in a worker thread');
const port = parentPort;
const data = workerData as ProducerData;
const producer = EventStore.attach<BenchEvent>(data.descriptor);
const pool = makeEvents(data.poolSize, data.seed);

port.on('message', (msg: Command) => {
  if (msg.cmd === 'close') {
    producer.close();
    port.close();
    return;
  }
  void (async () => {
    const t = nowMs();
    const refused = await appendLoop(producer, pool, msg.n, msg.start);
    port.postMessage({ done: true, ms: nowMs() - t, refused });
  })();
});
port.postMessage({ ready: true });
