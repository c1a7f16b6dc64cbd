// Producer thread of core-rows.mjs: attaches to a store of the build in workerData.dist by descriptor and, on each
// { n, start } message, appends n events with the harness's tryAppend-and-retry loop, then replies { refused }.
import { parentPort, workerData } from 'node:worker_threads';
const { EventStore } = await import(workerData.dist + '/src/index.js');
const { appendLoop, makeEvents } = await import('../../dist/bench/harness/events.js');
const pool = makeEvents(workerData.poolSize, workerData.seed);
const producer = EventStore.attach(workerData.descriptor);
parentPort.on('message', async (m) => {
  if (m === 'close') {
    await producer.close();
    parentPort.close();
    return;
  }
  parentPort.postMessage({ refused: await appendLoop(producer, pool, m.n, m.start) });
});
parentPort.postMessage('ready');
