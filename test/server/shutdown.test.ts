// Graceful shutdown of a real `ringstore serve` process: SIGTERM/SIGINT → in-flight requests finish → exit 0.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RingstoreClient } from '../../dist/src/client/index.js';
import { spawnDaemon } from './process.js';

describe('graceful shutdown', () => {
  it('SIGTERM: stops accepting, finishes an in-flight request, ends subscriptions, closes the stores, exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-shutdown-'));
    try {
      const d = await spawnDaemon(['--data-dir', dir]);
      const client = new RingstoreClient({ baseUrl: d.url, retries: 0 });
      const holder = await client.openSession('Shut/1');
      expect(await holder.append([{ type: 'A', data: 1 }, { type: 'B', data: 2 }])).toBe(2);
      await client.append('live/s', { n: 1 });
      // a live subscription, and a request that is in flight for ~600 ms (waits for the held stream)
      const ac = new AbortController();
      const sub = (async () => {
        const seen: number[] = [];
        for await (const e of client.subscribe('live/s', { signal: ac.signal, reconnect: false })) seen.push(e.version);
        return seen;
      })();
      const inFlight = client.openSession('Shut/1', { openTimeoutMs: 600 }).then(() => 'opened', (e: { code?: string; status?: number }) => `${e.status} ${e.code}`);
      await new Promise((r) => setTimeout(r, 150));
      d.child.kill('SIGTERM');
      expect(await inFlight).toBe('423 RS_ERR_STORE_OPEN_FAILED'); // answered, not reset
      expect(await sub).toEqual([1]); // the server ended the stream
      const { code } = await d.exit;
      expect(code).toBe(0);
      // nothing waited for the force-close at the 10 s grace (a wall-clock bound would flake on a loaded machine)
      expect(d.lines.some((l) => l.includes('shutdown timeout'))).toBe(false);
      expect(d.lines.some((l) => l.includes('"stopped"'))).toBe(true);
      // every log line carries a request id when it is about a request
      const requestLines = d.lines.map((l) => JSON.parse(l) as { msg: string; reqId?: string }).filter((l) => l.msg === 'request');
      expect(requestLines.length).toBeGreaterThan(3);
      expect(requestLines.every((l) => typeof l.reqId === 'string')).toBe(true);
      // the durable stream was closed cleanly: a new daemon on the same directory sees it
      const again = await spawnDaemon(['--data-dir', dir]);
      const c2 = new RingstoreClient({ baseUrl: again.url, retries: 0 });
      const s = await c2.openSession('Shut/1', { openTimeoutMs: 0 }); // the lease was released at shutdown
      expect(await s.version()).toBe(2);
      again.child.kill('SIGINT');
      expect((await again.exit).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an idle daemon exits 0 on SIGINT', async () => {
    const d = await spawnDaemon([]);
    d.child.kill('SIGINT');
    expect((await d.exit).code).toBe(0);
  });
});
