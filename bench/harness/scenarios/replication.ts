/**
 * `ringstore serve --nats`: the ring stores on JetStream, against the same
 * daemon without it, in one run. autocannon POSTs JSON-array batches and
 * single events to /streams; with --nats each request is one JetStream
 * publish (file storage, R1, a nats-server the scenario starts on loopback),
 * acknowledged, then applied by the daemon before it answers. Two daemons
 * sharing one JetStream (load split over both, each applying everything), and
 * the replication lag (from the 202 on one daemon until a read on the other
 * returns the event) complete the picture.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_PACKAGES } from '../../../src/cli/package-info.js';
import { importOptional, missing } from '../optional.js';
import { findBinary, freePort } from '../redis.js';
import type { Case, Sample, Scenario } from '../types.js';
import { MAIN, cpuMs, event, rotating, stopServer, waitUntil, type Cannon, type CannonRequest, type Server } from './daemon.js';

/** A nats-server with JetStream on a temporary store. */
interface Nats {
  url: string;
  child: ChildProcess;
  dir: string;
}

/** Last sequence of the `/streams` ring log on a server: the JetStream messages published so far. */
async function logSequence(url: string): Promise<number> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: [url] });
  try {
    return (await (await jetstreamManager(nc)).streams.info('RINGSTORE_RING_STREAMS')).state.last_seq;
  } finally {
    await nc.close();
  }
}

async function startNats(bin: string): Promise<Nats> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-nats-'));
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  await waitUntil(async () => /Server is ready/.test(log), 'nats-server', child);
  return { url: `nats://127.0.0.1:${port}`, child, dir };
}

async function stopNats(n: Nats | undefined): Promise<void> {
  if (n === undefined) return;
  if (n.child.exitCode === null) {
    const exited = new Promise((r) => n.child.once('exit', r));
    n.child.kill('SIGTERM');
    await exited;
  }
  rmSync(n.dir, { recursive: true, force: true });
}

async function startDaemon(nats: string | undefined): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [MAIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...(nats !== undefined ? ['--nats', nats] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitUntil(async () => (await fetch(`${url}/ready`)).ok, 'daemon', child);
  return { url, child };
}

export const replicationScenario: Scenario = {
  name: 'replication',
  title: 'Ring stores on JetStream (serve --nats) against the same daemon without it',
  description:
    'autocannon POSTs to /streams/bench/<0..15>: JSON arrays of `batch` events and single events, on `ringstore serve` (defaults, --log-level warn) without --nats and with --nats ' +
    '(its own nats-server, file storage, R1, loopback): with it, one acknowledged JetStream publish per request, applied by the daemon before it answers. ' +
    'Then two --nats daemons on one JetStream with the load split over both (each applies every batch), and the lag from the 202 on one daemon until a read on the other returns the event. ' +
    'The notes give the JetStream messages published per second (requests arriving while 2 publishes are in flight share one) and each daemon\'s CPU time per event.',
  reference: 'daemon without --nats, JSON array per request',
  default: false,
  params: {
    seconds: { default: 2, help: 'autocannon duration per round, s' },
    connections: { default: 16, help: 'concurrent connections' },
    batch: { default: 100, help: 'events per batch request' },
    lagSamples: { default: 200, help: 'appends timed from one daemon to the other per round' },
  },
  async pending() {
    const m = missing(...DAEMON_PACKAGES, 'autocannon', '@nats-io/transport-node', '@nats-io/jetstream');
    if (m !== null) return `needs packages: ${m}`;
    return findBinary('nats-server') === null ? 'no nats-server binary on PATH (Debian package nats-server)' : null;
  },
  async cases(ctx) {
    const seconds = Number(ctx.params.seconds);
    const connections = Number(ctx.params.connections);
    const batch = Number(ctx.params.batch);
    const lagSamples = Number(ctx.params.lagSamples);
    const cannon = await importOptional<{ default: Cannon }>('autocannon');
    if (typeof cannon === 'string') throw new Error(cannon);
    const bin = findBinary('nats-server')!;
    const single = (i: number): string => JSON.stringify(event(i));
    const array = (i: number): string => JSON.stringify(Array.from({ length: batch }, (_, j) => event(i * batch + j)));
    // One JetStream per setup: the single --nats daemon and the pair do not apply each other's load.
    const nats: Nats[] = [];
    const servers: Record<string, Server[]> = {};
    const natsOf: Record<string, string> = {};

    const drive = async (key: string, requests: () => CannonRequest[], perRequest: number): Promise<Sample> => {
      const group = servers[key]!;
      const log = natsOf[key];
      const seq0 = log === undefined ? 0 : await logSequence(log);
      const c0 = group.map((s) => cpuMs(s.child.pid));
      // The connections are split over the group's daemons, all driven at once.
      const results = await Promise.all(group.map((s) => cannon.default({ url: s.url, requests: requests(), connections: Math.max(1, Math.round(connections / group.length)), duration: seconds, pipelining: 1 })));
      const c1 = group.map((s) => cpuMs(s.child.pid));
      const published = log === undefined ? undefined : (await logSequence(log)) - seq0;
      let ok = 0;
      let total = 0;
      let non2xx = 0;
      for (const r of results) {
        ok += r.requests.total - r.non2xx - r.errors - r.timeouts;
        total += r.requests.total;
        non2xx += r.non2xx + r.errors + r.timeouts;
      }
      if (ok <= 0) throw new Error(`no request succeeded (${non2xx} failed)`);
      const ops = ok * perRequest;
      const ms = Math.max(...results.map((r) => r.duration)) * 1000;
      let main = 0;
      let proc = 0;
      let cpu = true;
      group.forEach((_, i) => {
        const a = c0[i];
        const b = c1[i];
        if (a === undefined || b === undefined) cpu = false;
        else {
          main += b.main - a.main;
          proc += b.process - a.process;
        }
      });
      const r0 = results[0]!;
      return {
        ops, ms,
        latencySummary: { count: total, p50: r0.latency.p50, p99: r0.latency.p99, p999: r0.latency.p99_9 ?? r0.latency.max, max: r0.latency.max },
        ...(cpu ? { cpuUsPerOp: { main: (main * 1000) / ops, process: (proc * 1000) / ops } } : {}),
        note: `${total} requests per round (${Math.round((total / ms) * 1000)}/s), ${non2xx} failed` +
          (published === undefined ? '' : `; ${published} JetStream messages (${Math.round((published / ms) * 1000)} publishes/s, ${(ok / published).toFixed(2)} requests a message)`) +
          "; CPU summed over the group's daemons (not nats-server)",
      };
    };
    const group = (key: string, count: number, withNats: boolean) => ({
      async setup(): Promise<void> {
        if (servers[key] !== undefined) return;
        let url: string | undefined;
        if (withNats) {
          const n = await startNats(bin);
          nats.push(n);
          url = n.url;
          natsOf[key] = n.url;
        }
        const list: Server[] = [];
        for (let i = 0; i < count; i++) list.push(await startDaemon(url));
        servers[key] = list;
      },
      async teardown(): Promise<void> {
        for (const s of servers[key] ?? []) await stopServer(s);
        delete servers[key];
        delete natsOf[key];
        if (Object.keys(servers).length === 0) for (const n of nats.splice(0)) await stopNats(n);
      },
    });
    const REF_SINGLE = 'daemon without --nats, 1 JSON event per request';
    const cases: Case[] = [
      { name: replicationScenario.reference, role: 'peer', ...group('plain', 1, false), run: () => drive('plain', () => rotating(array, 'application/json'), batch) },
      { name: `daemon --nats, JSON array of ${batch} per request`, role: 'subject', ...group('nats', 1, true), run: () => drive('nats', () => rotating(array, 'application/json'), batch) },
      { name: `two daemons --nats on one JetStream, JSON array of ${batch} per request, load split`, role: 'subject', ...group('pair', 2, true), run: () => drive('pair', () => rotating(array, 'application/json'), batch) },
      { name: REF_SINGLE, role: 'peer', vs: REF_SINGLE, ...group('plain', 1, false), run: () => drive('plain', () => rotating(single, 'application/json'), 1) },
      { name: 'daemon --nats, 1 JSON event per request', role: 'subject', vs: REF_SINGLE, ...group('nats', 1, true), run: () => drive('nats', () => rotating(single, 'application/json'), 1) },
      {
        name: 'lag: 202 on daemon A until a read on daemon B returns the event (--nats)', role: 'subject', op: 'appends', vs: 'lag: 202 on daemon A until a read on daemon B returns the event (--nats)',
        ...group('pair', 2, true),
        async run(round): Promise<Sample> {
          const [a, b] = servers.pair!;
          const lat: number[] = [];
          const t0 = performance.now();
          for (let i = 0; i < lagSamples; i++) {
            const stream = `lag-${round}`;
            const res = await fetch(`${a!.url}/streams/${stream}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: single(i) });
            const { version } = (await res.json()) as { version: number };
            const acked = performance.now();
            for (;;) {
              const page = (await (await fetch(`${b!.url}/streams/${stream}?from=${version}&limit=1`)).json()) as unknown[];
              if (page.length === 1) break;
            }
            lat.push(performance.now() - acked);
          }
          return { ops: lagSamples, ms: performance.now() - t0, latenciesMs: lat, note: 'latency = lag: from the 202 on A until B returns the event (B polled back to back, about 1 ms a read here)' };
        },
      },
    ];
    return ctx.subjectsOnly ? cases.filter((c) => c.role === 'subject') : cases;
  },
};
