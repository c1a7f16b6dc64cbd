/**
 * `ringstore demo`: drives the embedded store on its defaults (one partition
 * per core) for a few seconds and prints a summary as structured JSON lines.
 */
import os from 'node:os';
import { pino } from 'pino';
import { EventStore } from '../index.js';

interface Order {
  type: string;
  user: string;
  amount: number;
}

async function demo(seconds: number): Promise<void> {
  const log = pino({ name: 'ringstore' });
  const store = EventStore.create<Order>({ key: 'user', values: { amount: 'amount' }, window: { sizeMs: 60_000, bucketMs: 1000 }, logger: log });
  log.info({ partitions: store.partitions, capacity: store.capacity, cores: os.availableParallelism() }, 'store created');
  const end = Date.now() + seconds * 1000;
  let i = 0;
  while (Date.now() < end) {
    for (let n = 0; n < 1000; n++, i++) {
      const event = { type: i % 10 === 0 ? 'refund' : 'order', user: `user-${i % 1000}`, amount: (i * 7919) % 500 };
      while (!store.tryAppend(event)) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
  }
  await store.flush();
  const [count, sum, top, window] = await Promise.all([
    store.count(),
    store.sum('amount', { where: { type: 'order' } }),
    store.top(3, 'amount'),
    store.windowAggregate('amount'),
  ]);
  const s = store.stats;
  log.info({ appended: s.appended, live: s.live, discarded: s.discarded, perSecond: Math.round(s.appended / seconds) }, 'appended');
  log.info({ count, orderAmount: sum, top, lastMinute: window }, 'aggregates');
  await store.close();
}


/** CLI entry of the demo command. */
export async function run(argv: string[]): Promise<number> {
  const at = argv.indexOf('--seconds');
  const seconds = at >= 0 ? Number(argv[at + 1]) : 3;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    process.stderr.write('ringstore demo: --seconds must be a number in (0, 3600]\n');
    return 2;
  }
  await demo(seconds);
  return 0;
}
