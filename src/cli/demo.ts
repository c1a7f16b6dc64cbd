/**
 * `ringstore demo`: drives the embedded store on its defaults (one partition
 * per core) for a few seconds and prints a summary for a person to read. The
 * store's JSON log lines go to stderr when `--log-level` asks for them.
 */
import os from 'node:os';
import { pino, type Level, type Logger } from 'pino';
import { EventStore } from '../index.js';
import type { WindowAggregate } from '../store/types.js';

interface Order {
  type: string;
  user: string;
  amount: number;
}

interface DemoArgs {
  seconds: number;
  logLevel: Level | 'silent';
  help: boolean;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const DEMO_HELP = `usage: ringstore demo [--seconds N] [--log-level LEVEL]

Appends generated orders to an embedded EventStore (one partition per core, no HTTP) for a few
seconds, then prints how many were appended and kept, and a few aggregates over them.

  --seconds N        how long to append, in (0, 3600] (default 3)
  --log-level LEVEL  also write the store's JSON log lines to stderr at this pino level
                     (${LEVELS.join(', ')}; default silent)
  -h, --help         show this help
`;

class UsageError extends Error {}

export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const out: DemoArgs = { seconds: 3, logLevel: 'silent', help: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    if (flag === '-h' || flag === '--help') {
      out.help = true;
      continue;
    }
    if (flag !== '--seconds' && flag !== '--log-level') throw new UsageError(`unknown option ${argv[i]}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (flag === '--seconds') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError(`--seconds must be a number in (0, 3600], got ${value}`);
      out.seconds = n;
    } else {
      if (!LEVELS.includes(value)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got ${value}`);
      out.logLevel = value as DemoArgs['logLevel'];
    }
  }
  return out;
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const dec = (x: number | null): string => (x === null ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: 1 }));

export interface DemoSummary {
  seconds: number;
  partitions: number;
  cores: number;
  capacity: number;
  appended: number;
  live: number;
  discarded: number;
  count: number;
  orderAmount: number;
  top: { key: string; value: number }[];
  lastMinute: WindowAggregate;
}

/** The summary as printed. */
export function formatSummary(s: DemoSummary): string {
  const w = s.lastMinute;
  const rows: [string, string][] = [
    ['appended', `${n(s.appended)} events, ${n(s.appended / s.seconds)} per second`],
    ['kept', `${n(s.live)} (the ring keeps the newest; ${n(s.discarded)} discarded)`],
    ['count()', n(s.count)],
    ["sum('amount') of orders", n(s.orderAmount)],
    ["top(3, 'amount') by user", s.top.map((t) => `${t.key} ${n(t.value)}`).join(', ')],
    ['last minute of amount', `count ${n(w.count)}, sum ${n(w.sum)}, min ${dec(w.min)}, max ${dec(w.max)}, avg ${dec(w.avg)}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `ringstore demo: ${dec(s.seconds)} s of appends to an embedded store (${s.partitions} partitions on ${s.cores} cores, capacity ${n(s.capacity)} events)`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
  ].join('\n');
}

async function demo(seconds: number, log: Logger): Promise<DemoSummary> {
  const store = EventStore.create<Order>({ key: 'user', values: { amount: 'amount' }, window: { sizeMs: 60_000, bucketMs: 1000 }, logger: log });
  const cores = os.availableParallelism();
  log.info({ partitions: store.partitions, capacity: store.capacity, cores }, 'store created');
  try {
    const started = performance.now();
    const end = Date.now() + seconds * 1000;
    let i = 0;
    while (Date.now() < end) {
      for (let k = 0; k < 1000; k++, i++) {
        const event = { type: i % 10 === 0 ? 'refund' : 'order', user: `user-${i % 1000}`, amount: (i * 7919) % 500 };
        while (!store.tryAppend(event)) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setImmediate(r));
    }
    await store.flush();
    const elapsed = (performance.now() - started) / 1000;
    const [count, orderAmount, top, lastMinute] = await Promise.all([
      store.count(),
      store.sum('amount', { where: { type: 'order' } }),
      store.top(3, 'amount'),
      store.windowAggregate('amount'),
    ]);
    const s = store.stats;
    log.info({ appended: s.appended, live: s.live, discarded: s.discarded, perSecond: Math.round(s.appended / elapsed) }, 'appended');
    log.info({ count, orderAmount, top, lastMinute }, 'aggregates');
    return { seconds: elapsed, partitions: store.partitions, cores, capacity: store.capacity, appended: s.appended, live: s.live, discarded: s.discarded, count, orderAmount, top, lastMinute };
  } finally {
    await store.close();
  }
}

/** CLI entry of the demo command. */
export async function run(argv: string[]): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`ringstore demo: ${err.message}\n\n${DEMO_HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(DEMO_HELP);
    return 0;
  }
  const log = pino({ name: 'ringstore', level: args.logLevel }, pino.destination({ fd: 2, sync: true }));
  process.stdout.write(formatSummary(await demo(args.seconds, log)));
  return 0;
}
