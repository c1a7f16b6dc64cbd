// Measures the shared checkpoints of `ringstore serve --nats` at a given ring sizing: a daemon fills its
// /streams ring (100-event batches until the ring wrapped once), writes a checkpoint, and a second daemon
// loads it. Prints the images' raw and compressed bytes, how long the log was paused to take them, how long
// writing took, and how long the late daemon took to start. Starts its own nats-server (free port, temporary
// store, killed at the end). Not part of the test suite. Usage:
//   npm run build && node --expose-gc test/nats/ring-checkpoint-size.mjs [partitions] [capacity]
import { Writable } from 'node:stream';
import pino from 'pino';
import { resolveConfig, startServer } from '../../dist/src/server/index.js';
import { startScriptServer } from './script-server.mjs';

const partitions = Number(process.argv[2] ?? 2);
const capacity = Number(process.argv[3] ?? 65_536 * partitions);
const nats = await startScriptServer('rs-nats-ckpt-');
const url = nats.url;

/** Log lines of one daemon (pino JSON), parsed. */
function logSink() {
  const lines = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, stream };
}

const base = { port: 0, partitions, capacity, nats: [url], logLevel: 'info', natsCheckpointMinMs: 0 };
const servers = [];
try {
  const aLog = logSink();
  // Checkpoints while the ring fills; the last one is measured (the ring full by then).
  const a = await startServer(resolveConfig({ ...base, natsCheckpointEvery: Math.floor(capacity / 100) + 1 }), { logger: pino({ level: 'info' }, aLog.stream) });
  servers.push(a);
  const batch = (i) => JSON.stringify(Array.from({ length: 100 }, (_, j) => ({ valor: j, gatewayId: `g${j % 8}`, note: `batch ${i} event ${j}` })));
  const batches = Math.ceil(capacity / 100) + 10;
  for (let i = 0; i < batches; i++) {
    const r = await fetch(`${a.url}/streams/s-${i % 64}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch(i) });
    if (r.status !== 202) throw new Error(`POST ${r.status}: ${await r.text()}`);
  }
  const stored = () => aLog.lines.filter((l) => l.msg === 'replication: checkpoint stored' && l.store === 'streams');
  while (stored().length === 0) await new Promise((r) => setTimeout(r, 100));
  const c = stored().at(-1);
  console.log(`nats-server at ${url}, file storage, R1; node ${process.version}; ${partitions} partitions, capacity ${capacity}, ${batches} batches of 100 events`);
  console.log(`checkpoint at log sequence ${c.seq}: ${(c.raw / 2 ** 20).toFixed(1)} MiB of images, ${(c.bytes / 2 ** 20).toFixed(1)} MiB compressed in ${c.chunks} messages; log paused ${c.pausedMs} ms; stored in ${c.ms} ms`);
  const bLog = logSink();
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const b = await startServer(resolveConfig({ ...base, natsCheckpointEvery: 0 }), { logger: pino({ level: 'info' }, bLog.stream) });
  servers.push(b);
  const loaded = bLog.lines.find((l) => l.msg?.startsWith('replication: loaded a checkpoint') && l.store === 'streams');
  console.log(`late daemon: loaded the checkpoint in ${loaded?.ms} ms, ready after ${Math.round(performance.now() - t0)} ms`);
  // Both daemons share this process: the late one's cost is the growth while it started.
  console.log(`process RSS ${(rss0 / 2 ** 20).toFixed(0)} MiB before the late daemon, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB once it was ready`);
} finally {
  await Promise.allSettled(servers.map((s) => s.close()));
  await nats.stop();
}
