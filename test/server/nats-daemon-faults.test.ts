// `ringstore serve --nats` fault tests (issue 13): three daemons, each a real child process connected
// first to a different node of a 3-node JetStream cluster (R3 ring logs), all on loopback.
// - The gateway scenario (docs/examples/gateways): three gateways, each writing through its own daemon;
//   every daemon counts the sum of what the gateways sent, per gateway and in total.
// - kill -9 of one daemon under load: writers retry a failed POST on the next daemon with the same
//   Idempotency-Key (as behind a load balancer); the other daemons keep serving, no acknowledged batch is
//   lost or stored twice, and the restarted daemon holds every batch acknowledged before it started
//   when its /ready first answers 200, then converges with the others.
// (A NATS node killed under load is test/server/nats-ring-cluster.test.ts.)
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type NatsCluster } from '../nats/server.js';
import { json, raw } from './helpers.js';
import { freePort, MAIN } from './process.js';

const GATEWAY = fileURLToPath(new URL('../../docs/examples/gateways/gateway.mjs', import.meta.url));
const CAPACITY = 16_384;

interface Proc {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  stderr(): string;
}

const procs: Proc[] = [];

async function startProc(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const p = { url: '', child, exited, stderr: () => err };
  return p;
}

/** A daemon on the cluster, its node list starting at node `first`. Not waited for: see {@link untilReady}. */
async function startDaemon(first: number): Promise<Proc> {
  const urls = cluster.urls.map((_, i) => cluster.urls[(first + i) % cluster.urls.length]!);
  const port = await freePort();
  const p = await startProc([MAIN, 'serve', '--port', String(port), '--partitions', '2', '--capacity', String(CAPACITY), '--nats', urls.join(','), '--nats-replicas', '3', '--log-level', 'warn']);
  const d = { ...p, url: `http://127.0.0.1:${port}` };
  procs.push(d);
  return d;
}

/** Polls GET /ready until 200; `onNotReady` sees each other answer (a refused connection is none). */
async function untilReady(d: Proc, onNotReady: (status: number, code: unknown) => void = () => undefined, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (d.child.exitCode !== null) throw new Error(`daemon exited (${d.child.exitCode}): ${d.stderr()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`${d.url} not ready within ${timeoutMs} ms: ${d.stderr()}`);
    const r = await raw(`${d.url}/ready`).catch(() => null);
    if (r?.status === 200) return;
    if (r !== null) onNotReady(r.status, (r.body as { error?: { code?: unknown } })?.error?.code);
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(timer);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let cluster: NatsCluster;
const daemons: Proc[] = [];
beforeAll(async () => {
  cluster = await startCluster(3);
  // The first creates the R3 ring logs; the others find them.
  daemons.push(await startDaemon(0));
  await untilReady(daemons[0]!);
  daemons.push(await startDaemon(1), await startDaemon(2));
  await Promise.all(daemons.map((d) => untilReady(d)));
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(procs.map((p) => stopProc(p)));
  await cluster?.stop();
});

interface Event {
  id: string;
  version: number;
}
const events = async (url: string, stream: string): Promise<Event[]> => (await raw(`${url}/streams/${stream}`)).body as Event[];

describe('three daemons on a 3-node JetStream cluster', () => {
  it('the gateway scenario across three daemons: each daemon counts what all the gateways sent', async () => {
    const gateways: Proc[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const g = await startProc([GATEWAY], { EVENTSTORE_URL: daemons[i]!.url, GATEWAY_ID: `gw-${i + 1}`, PORT: String(port), GATEWAY_CONCURRENCY: '8' });
      const gw = { ...g, url: `http://127.0.0.1:${port}` };
      procs.push(gw);
      gateways.push(gw);
    }
    for (const g of gateways) await until(`${g.url}/health`, async () => (await raw(`${g.url}/health`).catch(() => null))?.status === 200, 20_000);
    const BULK = 150;
    const SINGLES = 10;
    const calls = gateways.flatMap((g) => [
      ...Array.from({ length: 2 }, () => raw(`${g.url}/orders/bulk?n=${BULK}`, { method: 'POST' })),
      ...Array.from({ length: SINGLES }, () => raw(`${g.url}/orders`, { method: 'POST' })),
    ]);
    const answers = await Promise.all(calls);
    const requested = gateways.length * (2 * BULK + SINGLES);
    const succeeded = answers.reduce((n, r) => n + (r.status === 200 ? (r.body as { succeeded: number }).succeeded : r.status === 202 ? 1 : 0), 0);
    expect(succeeded).toBe(requested);
    const locals = await Promise.all(gateways.map(async (g) => (await raw(`${g.url}/stats/local`)).body as { gatewayId: string; sent: number }));
    expect(locals.reduce((n, l) => n + l.sent, 0)).toBe(requested);
    // Each gateway asks its own daemon: all three converge on the sum, and on each gateway's count.
    interface Global {
      totalEvents: number;
      gateways: Record<string, { count: number }>;
    }
    const globals = async (): Promise<Global[]> => Promise.all(gateways.map(async (g) => (await raw(`${g.url}/stats/global`)).body as Global));
    await until('every daemon to count every order', async () => (await globals()).every((gl) => gl.totalEvents === requested), 30_000);
    for (const gl of await globals()) {
      for (const l of locals) expect(gl.gateways[l.gatewayId]?.count, l.gatewayId).toBe(l.sent);
    }
    // The same events, in the same order, on every daemon.
    const orders = await Promise.all(daemons.map((d) => events(d.url, 'gateway/orders')));
    expect(orders[0]).toHaveLength(requested);
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    await Promise.all(gateways.map((g) => stopProc(g)));
  }, 120_000);

  it('kill -9 of one daemon under load: the others keep serving, no acknowledged batch is lost, the restarted one catches up before /ready', async () => {
    const WRITERS = 6;
    const BATCH = 10;
    const VICTIM = 2;
    const acked = new Map<string, { w: number; versions: number[]; by: number; at: number }>();
    const failures: string[] = [];
    let stop = false;
    let ackCount = 0;
    const writer = async (w: number): Promise<void> => {
      let target = w % daemons.length;
      for (let i = 0; !stop; i++) {
        const key = `w${w}-b${i}`;
        const body = Array.from({ length: BATCH }, (_, j) => ({ w, i, j }));
        const deadline = Date.now() + 60_000;
        for (;;) {
          const by = target;
          const r = await raw(`${daemons[by]!.url}/streams/load-${w}`, json(body, { 'idempotency-key': key })).catch((err: unknown) => ({ status: 0, body: String(err) }));
          if (r.status === 202) {
            acked.set(key, { w, versions: (r.body as { version: number }[]).map((x) => x.version), by, at: ++ackCount });
            break;
          }
          if (Date.now() > deadline) {
            failures.push(`${key}: ${r.status} ${JSON.stringify(r.body)}`);
            return;
          }
          // Refused (a killed daemon) or 503 (not ready, outcome unknown): the same key on the next daemon.
          target = (target + 1) % daemons.length;
          await new Promise((res) => setTimeout(res, 20));
        }
      }
    };
    /** Live events of the daemon's /streams ring. */
    const count = async (url: string): Promise<number> => ((await raw(`${url}/metrics/snapshot-views`)).body as { totalEvents: number }).totalEvents;
    const writing = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    try {
      await until('60 batches', () => acked.size >= 60 || failures.length > 0, 30_000);
      expect([...acked.values()].some((v) => v.by === VICTIM)).toBe(true);
      daemons[VICTIM]!.child.kill('SIGKILL');
      await daemons[VICTIM]!.exited;
      const atKill = ackCount;
      await until('60 batches after the kill', () => ackCount >= atKill + 60 || failures.length > 0, 60_000);
      expect(failures).toEqual([]);
      // The others kept serving, every writer included (those that wrote through the victim moved on).
      const after = [...acked.values()].filter((v) => v.at > atKill);
      // (an answer of the victim received just before the kill may be counted just after it)
      expect([...new Set(after.map((v) => v.by))].filter((by) => by !== VICTIM).sort()).toEqual([0, 1]);
      expect(new Set(after.map((v) => v.w)).size).toBe(WRITERS);

      // Restart it, still under load: at its first 200 it holds everything the log held when it started:
      // at least what a running daemon had applied then, and every batch acknowledged before.
      const before = new Map(acked);
      const floor = await count(daemons[0]!.url);
      const restarted = await startDaemon(VICTIM);
      const notReady = new Set<string>();
      await untilReady(restarted, (status, code) => notReady.add(`${status} ${String(code)}`));
      expect(await count(restarted.url)).toBeGreaterThanOrEqual(floor);
      for (const answer of notReady) expect(answer).toBe('503 RS_ERR_NOT_READY');
      for (let w = 0; w < WRITERS; w++) {
        const byId = new Map((await events(restarted.url, `load-${w}`)).map((e) => [e.id, e.version]));
        for (const [key, v] of before) {
          if (v.w !== w) continue;
          for (let j = 0; j < BATCH; j++) expect(byId.get(`${key}:${j}`), `${key}:${j} on the restarted daemon`).toBe(v.versions[j]);
        }
      }
      daemons[VICTIM] = restarted;
      const atRestart = ackCount;
      await until('20 batches after the restart', () => ackCount >= atRestart + 20 || failures.length > 0, 30_000);
    } finally {
      stop = true;
      await writing;
    }
    expect(failures).toEqual([]);

    for (let w = 0; w < WRITERS; w++) {
      const stream = `load-${w}`;
      await until(`${stream} equal on the three daemons`, async () => {
        const [x, y, z] = await Promise.all(daemons.map((d) => events(d.url, stream)));
        return JSON.stringify(x) === JSON.stringify(y) && JSON.stringify(x) === JSON.stringify(z);
      }, 20_000);
      const all = await events(daemons[0]!.url, stream);
      // Versions 1..N and unique ids: nothing stored twice (a key retried elsewhere was a duplicate).
      expect(all.map((e) => e.version)).toEqual(all.map((_, k) => k + 1));
      expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
      const byId = new Map(all.map((e) => [e.id, e.version]));
      for (const [key, v] of acked) {
        if (v.w !== w) continue;
        for (let j = 0; j < BATCH; j++) expect(byId.get(`${key}:${j}`), `${key}:${j}`).toBe(v.versions[j]);
      }
      // Batches never acknowledged (a writer stopped) are whole or absent.
      const sizes = new Map<string, number>();
      for (const e of all) sizes.set(e.id.split(':')[0]!, (sizes.get(e.id.split(':')[0]!) ?? 0) + 1);
      for (const [k, n] of sizes) expect(n, k).toBe(BATCH);
    }
    const counts = await Promise.all(daemons.map((d) => count(d.url)));
    expect(counts[1]).toBe(counts[0]);
    expect(counts[2]).toBe(counts[0]);
  }, 150_000);
});
