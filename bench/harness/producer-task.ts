/**
 * Piscina task of the harness's producer threads: attaches to a store by its
 * descriptor (`EventStore.attach`), appends `n` events from the shared event
 * pool with the tryAppend-and-retry loop of events.ts, frees its
 * producer slot, and reports how long it took. Piscina runs one such task per
 * thread at a time (concurrentTasksPerWorker 1), so k tasks at once use k threads.
 */
import { EventStore, type EventStoreDescriptor } from '../../src/index.js';
import { appendLoop, makeEvents, type BenchEvent } from './events.js';

export interface ProducerTask {
  descriptor: EventStoreDescriptor;
  n: number;
  start: number;
  seed: number;
  poolSize: number;
}

const pools = new Map<string, BenchEvent[]>();

export default async function produce(task: ProducerTask): Promise<{ ms: number; refused: number }> {
  const id = `${task.seed}/${task.poolSize}`;
  let pool = pools.get(id);
  if (pool === undefined) {
    pool = makeEvents(task.poolSize, task.seed);
    pools.set(id, pool);
  }
  const producer = EventStore.attach<BenchEvent>(task.descriptor);
  try {
    const t = performance.now();
    const refused = await appendLoop(producer, pool, task.n, task.start);
    return { ms: performance.now() - t, refused };
  } finally {
    producer.close();
  }
}
