// Fault tests on a 3-node JetStream cluster (three local nats-server processes
// with routes, R3 streams): a node killed under load, and leases across two
// real processes connected to different nodes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { NatsBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';
import { Child } from '../streams/child.js';
import { code } from '../streams/helpers.js';
import { startCluster, waitForJetStream, type NatsCluster } from './server.js';

let cluster: NatsCluster;
let nc: NatsConnection;
let jsm: JetStreamManager;
const children: Child[] = [];

beforeAll(async () => {
  cluster = await startCluster(3);
  nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1 });
  jsm = await jetstreamManager(nc);
});
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  // A test that failed after killing a node must not leave the next one a node short (its children
  // connect to one node each, and an R3 stream cannot be created on two).
  const down = cluster.nodes.flatMap((n, i) => (n.proc === undefined ? [i] : []));
  for (const i of down) await cluster.restart(i);
  if (down.length > 0) await waitForJetStream(cluster.urls, 30_000, 3);
});
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('NatsBackend on a 3-node cluster', () => {
  it('kill -9 of the stream leader under load: writes continue on the other two, every acknowledged append is kept', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const backend = await NatsBackend.connect({ servers: cluster.urls, stream: 'R3', subjectPrefix: 'r3', replicas: 3, logger });
    const provider = new StreamStoreProvider({ backend });
    try {
      const s = await provider.open('Acc/load', { sessionTimeoutMs: 120_000 });
      const info = await jsm.streams.info('R3');
      expect(info.config.num_replicas).toBe(3);
      const leader = info.cluster!.leader!;
      const victim = cluster.nodes.findIndex((n) => n.name === leader);
      expect(victim).toBeGreaterThanOrEqual(0);
      let acked = 0;
      let stop = false;
      const failures: unknown[] = [];
      const writing = (async () => {
        for (let i = 1; !stop; i++) {
          try {
            acked = await s.append([{ id: `w-${i}`, type: 'E', data: { i } }]);
          } catch (err) {
            failures.push(err);
            return;
          }
        }
      })();
      await until('100 appends', () => acked >= 100, 20_000);
      await cluster.kill(victim);
      const atKill = acked;
      await until('100 appends after the kill', () => acked >= atKill + 100 || failures.length > 0, 40_000);
      stop = true;
      await writing;
      expect(failures, warnings.join('')).toEqual([]);
      // No assertion that a retry was logged: a kill -9 is sometimes ridden out without one (the client
      // holds the write through its reconnect while a new leader is elected), which failed CI runs. A
      // SIGSTOP of the leader to force a timed-out write was tried, and was not deterministic either:
      // under load a write could wait out the whole write deadline behind the frozen node (see the
      // 2026-12-06 note). What this test holds to: writes go on after the kill, the leader moved, and
      // every acknowledged append is there, once, in order.
      const newLeader = (await jsm.streams.info('R3')).cluster!.leader;
      expect(newLeader).not.toBe(leader);
      const { events } = await s.read();
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: acked }, (_, i) => i + 1));
      expect(events.map((e) => e.id)).toEqual(Array.from({ length: acked }, (_, i) => `w-${i + 1}`));
      // the restarted node catches up with the others
      await cluster.restart(victim);
      await until(
        'the restarted replica to be current',
        async () => {
          const c = (await jsm.streams.info('R3').catch(() => undefined))?.cluster;
          const peer = c?.leader === leader ? { current: true } : c?.replicas?.find((r) => r.name === leader);
          return peer?.current === true;
        },
        20_000,
      );
      await s.close();
    } finally {
      await provider.close();
      await backend.close();
    }
  });

  it('a session held by one process blocks another; a late write of the first after its lease was taken over is fenced off', async () => {
    const spec = (url: string) => `nats:${JSON.stringify({ servers: [url], stream: 'R3L', subjectPrefix: 'r3l', replicas: 3 })}`;
    const spawn = async (url: string) => {
      const c = new Child(spec(url), 'Acc/shared');
      children.push(c);
      expect((await c.next()).ready).toBe(true);
      return c;
    };
    // connected to different nodes
    const a = await spawn(cluster.nodes[0]!.url);
    const b = await spawn(cluster.nodes[1]!.url);
    // A long lease while b checks that it is blocked: a short one could run out on a loaded machine
    // before the check (b would then open, rightly), which made this test flaky in full runs.
    expect(await a.ask({ cmd: 'open', openTimeoutMs: 0, sessionTimeoutMs: 60_000 })).toMatchObject({ ok: true, version: 0 });
    expect(await a.ask({ cmd: 'append', count: 250 })).toMatchObject({ ok: true, version: 250 });
    expect(await b.ask({ cmd: 'open', openTimeoutMs: 300, sessionTimeoutMs: 60_000 })).toMatchObject({ ok: false, code: 'RS_ERR_STORE_OPEN_FAILED' });
    // Then a's lease is cut short; b waits for it to expire and takes the stream over.
    expect(await a.ask({ cmd: 'renew', ms: 1_000 })).toMatchObject({ ok: true });
    expect(await b.ask({ cmd: 'open', openTimeoutMs: 20_000, sessionTimeoutMs: 60_000 })).toMatchObject({ ok: true, version: 250 });
    // a has not noticed (its clock lags a minute): its session check passes, the backend fences the write
    expect(await a.ask({ cmd: 'skew', ms: -60_000 })).toMatchObject({ ok: true });
    expect(await a.ask({ cmd: 'append', count: 5 })).toMatchObject({ ok: false, code: 'RS_ERR_STORE_INVALID_SESSION' });
    expect(await b.ask({ cmd: 'append', count: 3 })).toMatchObject({ ok: true, version: 253 });
    expect((await b.ask({ cmd: 'read' })).versions).toEqual(Array.from({ length: 253 }, (_, i) => i + 1));
    // a's close does not release b's lease
    expect(await a.ask({ cmd: 'close' })).toMatchObject({ ok: true });
    const backend = new NatsBackend({ servers: [cluster.nodes[2]!.url], stream: 'R3L', subjectPrefix: 'r3l' });
    const provider = new StreamStoreProvider({ backend });
    try {
      expect(await code(provider.open('Acc/shared', { openTimeoutMs: 0 }))).toBe('RS_ERR_STORE_OPEN_FAILED');
    } finally {
      await provider.close();
      await backend.close();
    }
  });
});
