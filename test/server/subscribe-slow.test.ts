// The slow-client path of SSE (routes/subscribe.ts, stream-feed.ts): a subscriber whose socket stops taking bytes is
// paused (ringstore_sse_slow_pauses_total), the daemon holds at most one read for it instead of everything the
// stream gets, the other subscribers of the stream keep receiving, and once it reads again it resumes from its own
// next version.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE } from '../../dist/src/server/stream-feed.js';
import { startDaemon, type TestDaemon } from './helpers.js';

const EVENTS = 10_000;
const PAD = 'x'.repeat(2000);
/** 20 MB of SSE messages: several times what the loopback's socket buffers take (a few MB) before a write refuses. */
const BATCH = 200;

let d: TestDaemon;
beforeAll(async () => {
  // Room for every event (no eviction): the paused subscriber must find all of them when it resumes.
  d = await startDaemon({ partitions: 2, capacity: 16_384, arenaBytes: 64 * 2 ** 20 });
});
afterAll(async () => {
  await d.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!done()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function slowPauses(): Promise<number> {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  return Number(/^ringstore_sse_slow_pauses_total (\S+)/m.exec(text)?.[1]);
}

/** An SSE client on a raw socket that collects the versions it receives; `socket.pause()` stops it reading. */
function subscriber(stream: string): { socket: net.Socket; versions: number[]; bytes: () => number } {
  const socket = net.connect(d.server.port, '127.0.0.1');
  const versions: number[] = [];
  let buf = '';
  let bytes = 0;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    bytes += chunk.length;
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const id = /^id: (\d+)$/m.exec(buf.slice(0, i));
      if (id !== null) versions.push(Number(id[1]));
      buf = buf.slice(i + 2);
    }
  });
  socket.on('error', () => {});
  socket.write(`GET /streams/${stream}/subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  return { socket, versions, bytes: () => bytes };
}

describe('SSE: a subscriber that stops reading', () => {
  it('is paused (counted), the daemon holds at most one read for it, the others keep receiving, and it resumes where it stopped', async () => {
    const stream = 'slow/feed';
    // The daemon's side of each connection: what node holds in user space for the paused subscriber.
    const serverSockets: net.Socket[] = [];
    const onConnection = (s: net.Socket): void => void serverSockets.push(s);
    d.server.app.server.on('connection', onConnection);
    const pausesBefore = await slowPauses();
    const slow = subscriber(stream);
    const healthy = subscriber(stream);
    await until('both subscribed', () => slow.bytes() > 0 && healthy.bytes() > 0, 5000);
    slow.socket.pause(); // it reads no more: the kernel's buffers fill, then the daemon's writes are refused
    const mine = serverSockets.find((s) => s.remotePort === slow.socket.localPort);
    expect(mine, 'the daemon side of the slow subscriber').toBeDefined();

    let held = 0;
    const watch = setInterval(() => (held = Math.max(held, mine!.writableLength)), 5);
    try {
      for (let n = 0; n < EVENTS; n += BATCH) {
        const body = Array.from({ length: BATCH }, (_, i) => JSON.stringify({ n: n + i + 1, pad: PAD })).join('\n');
        const res = await fetch(`${d.url}/streams/${stream}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        expect(res.status).toBe(202);
        await res.text();
      }
      // The other subscriber of the same stream gets every event while the slow one is paused.
      await until('the healthy subscriber got every event', () => healthy.versions.length >= EVENTS, 30_000);
      expect(healthy.versions).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
      await sleep(200); // the feed has had its chance to write more to the slow one
    } finally {
      clearInterval(watch);
      d.server.app.server.off('connection', onConnection);
    }
    const received = slow.versions.length;
    expect(received, 'the slow subscriber stopped well before the end').toBeLessThan(EVENTS / 2);
    expect(await slowPauses(), 'ringstore_sse_slow_pauses_total').toBeGreaterThan(pausesBefore);
    // What the daemon holds for it: the chunk of one read (at most PAGE events), not the 20 MB the stream got.
    // Writing everything regardless of the socket would hold ~15 MB here (20 MB less the kernel's buffers).
    const perEvent = 2200; // an SSE message: id, event, data (the 2,000-byte pad, n, id, version)
    expect(held, `bytes held in user space for the paused subscriber (max over the run)`).toBeLessThanOrEqual(PAGE * perEvent + 64 * 1024);
    expect(held, 'the daemon did reach the slow client\'s limit').toBeGreaterThan(0);

    // Reading again: it drains, is read for again from its own next version, and gets the rest, in order, no gap.
    slow.socket.resume();
    await until('the slow subscriber caught up', () => slow.versions.length >= EVENTS, 30_000);
    expect(slow.versions).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
    slow.socket.destroy();
    healthy.socket.destroy();
  }, 90_000);
});
