// SSE subscriptions read only their stream's partition, and only after it commits (issue 10 item 10).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';

let d: TestDaemon;
beforeAll(async () => {
  d = await startDaemon({ partitions: 2 });
});
afterAll(async () => {
  await d.close();
});

/** Reads SSE messages from a response body, calling `onEvent` with each `data:` payload. */
async function readEvents(res: Response, onEvent: (data: unknown) => void): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const msg = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = msg.split('\n').find((l) => l.startsWith('data: '));
      if (data !== undefined) onEvent(JSON.parse(data.slice(6)));
    }
  }
}

describe('SSE subscriptions', () => {
  it('an idle subscription asks no partition, and only its own partition once something commits; events arrive at once', async () => {
    const store = d.server.context.stores.streams;
    const stream = 'sub/idle';
    const mine = store.partitionOf(stream);
    const other = 1 - mine;
    const ac = new AbortController();
    const seen: unknown[] = [];
    const res = await fetch(`${d.url}/streams/${stream}/subscribe`, { signal: ac.signal });
    expect(res.status).toBe(200);
    const reading = readEvents(res, (e) => seen.push(e));
    await new Promise((r) => setTimeout(r, 200)); // the first read is done
    const before = store.stats.partitions.map((p) => p.calls);
    await new Promise((r) => setTimeout(r, 600));
    const idle = store.stats.partitions.map((p, i) => p.calls - before[i]);
    expect(idle).toEqual([0, 0]); // polling every 10 ms asked both partitions ~60 times each

    // A commit on the other partition wakes nobody; one on ours is delivered within a second.
    let otherStream = 'sub/other-0';
    for (let i = 1; store.partitionOf(otherStream) !== other; i++) otherStream = `sub/other-${i}`;
    expect((await raw(`${d.url}/streams/${otherStream}`, json({ n: 0 }))).status).toBe(202);
    const sent = Date.now();
    expect((await raw(`${d.url}/streams/${stream}`, json({ n: 1 }))).status).toBe(202);
    while (seen.length === 0 && Date.now() - sent < 1000) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ n: 1, version: 1 });
    const after = store.stats.partitions.map((p, i) => p.calls - before[i]);
    expect(after[other]).toBe(0);
    expect(after[mine]).toBeGreaterThan(0);
    expect(after[mine]).toBeLessThan(10);
    ac.abort();
    await reading;
  });

  it('subscribers share their partition\'s feed: 40 subscribers of 2 streams cost 2 reads per commit, not 40, and each gets every event', async () => {
    const store = d.server.context.stores.streams;
    let a = 'feed/a-0';
    for (let i = 1; store.partitionOf(a) !== 0; i++) a = `feed/a-${i}`;
    let b = 'feed/b-0';
    for (let i = 1; store.partitionOf(b) !== 0; i++) b = `feed/b-${i}`;
    // node:http clients, destroyed at the end: an aborted fetch can leave its socket half-open on the server.
    const seen = Array.from({ length: 40 }, () => [] as unknown[]);
    const clients = await Promise.all(seen.map((list, i) => new Promise<http.ClientRequest>((resolve, reject) => {
      const req = http.get(`${d.url}/streams/${i % 2 === 0 ? a : b}/subscribe`, (res) => {
        expect(res.statusCode).toBe(200);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let k: number;
          while ((k = buf.indexOf('\n\n')) >= 0) {
            const data = buf.slice(0, k).split('\n').find((l) => l.startsWith('data: '));
            buf = buf.slice(k + 2);
            if (data !== undefined) list.push(JSON.parse(data.slice(6)));
          }
        });
        res.on('error', () => {});
        resolve(req);
      });
      req.on('error', reject);
    })));
    await new Promise((r) => setTimeout(r, 300)); // the first reads are done
    const before = store.stats.partitions[0].calls;
    for (let n = 1; n <= 5; n++) {
      expect((await raw(`${d.url}/streams/${n % 2 === 0 ? a : b}`, json({ n }))).status).toBe(202);
      await new Promise((r) => setTimeout(r, 50));
    }
    const sent = Date.now();
    while (seen.some((l, i) => l.length < (i % 2 === 0 ? 2 : 3)) && Date.now() - sent < 3000) await new Promise((r) => setTimeout(r, 10));
    const reads = store.stats.partitions[0].calls - before;
    for (let i = 0; i < 40; i++) expect(seen[i].map((e) => (e as { n: number }).n)).toEqual(i % 2 === 0 ? [2, 4] : [1, 3, 5]);
    // One read per subscribed stream and commit (two streams, five commits), whatever the subscriber count;
    // each subscriber reading for itself made 40 reads per commit (200 here).
    expect(reads).toBeLessThanOrEqual(2 * 5 + 4);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(Number(/^ringstore_sse_reads_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    for (const c of clients) c.destroy();
  });

  it('catch-up across pages: 1,500 events held before the subscription (pages of 1,000) all arrive, in order, with no commit after it', async () => {
    const stream = 'feed/catch-up';
    for (let sent = 0; sent < 1500; sent += 500) {
      const body = Array.from({ length: 500 }, (_, i) => JSON.stringify({ n: sent + i + 1 })).join('\n');
      expect((await raw(`${d.url}/streams/${stream}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body })).status).toBe(202);
    }
    const ac = new AbortController();
    const seen: number[] = [];
    const res = await fetch(`${d.url}/streams/${stream}/subscribe?from=1`, { signal: ac.signal });
    const reading = readEvents(res, (e) => seen.push((e as { version: number }).version));
    try {
      const t0 = Date.now();
      while (seen.length < 1500 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
      expect(seen).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
    } finally {
      ac.abort();
      await reading;
    }
  });
});
