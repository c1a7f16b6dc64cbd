// SSE subscriptions read only their stream's partition, and only after it commits (issue 10 item 10).
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
});
