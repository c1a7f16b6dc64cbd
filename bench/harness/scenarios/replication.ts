/**
 * `ringstore serve --nats` against the other ways to keep the same events, in
 * one run with the rows alternating: autocannon POSTs JSON arrays of `batch`
 * events to /streams on one daemon in memory, one with its local durable log
 * (`--data-dir`, `--fsync never` and `interval`), one on JetStream (its own
 * nats-server, file storage, R1, loopback), two and three daemons sharing one
 * JetStream (connections split over them, each applying every batch); and a
 * private redis-server gets the same events as pipelined XADD batches of the
 * same size, in memory and with an AOF. Single-event requests and the
 * replication lag (from the 202 on one daemon until a read on the other
 * returns the event) complete the picture. Every row notes what its
 * acknowledgement means and the CPU time per event of each server process
 * (daemons' threads, nats-server, redis-server).
 */
import os from 'node:os';
import { DAEMON_PACKAGES } from '../../../src/cli/package-info.js';
import { importOptional, missing } from '../optional.js';
import { findBinary } from '../redis.js';
import type { Case, Sample, Scenario } from '../types.js';
import { cpuMs, event, rotating, type Cannon, type CannonRequest } from './daemon.js';
import {
  cpuDelta, driveRedis, logSequence, split, startDaemon, startNats, startRedisRig, stopDaemon, stopNats, stopRedisRig,
  type Daemon, type Keeping, type Nats, type RedisKeeping, type RedisRig,
} from './replication-servers.js';

/** What a 202 (or Redis's reply) means for each way of keeping the events. */
const ACK = {
  memory: 'ack: in memory; a crash of the process loses everything',
  never: "ack: written to the daemon's segment log (page cache, --fsync never); survives kill -9 of the daemon; an OS crash loses what the kernel had not written back (about 30 s)",
  interval: "ack: written to the daemon's segment log, fdatasync at least every second (--fsync interval, serve's default, like Redis everysec); survives kill -9; an OS crash loses about the last second",
  always: "ack: written to the daemon's segment log and fdatasynced (--fsync always, one fdatasync per drain, like Redis appendfsync always); survives kill -9 and an OS crash",
  nats: 'ack: stored by nats-server (file storage, R1: written, not fsynced; nats-server syncs every 2 min by default, the kernel writes back sooner) and applied by this daemon; survives kill -9 of the daemon and of nats-server; an OS crash loses what was not written back',
  redisMemory: 'ack: in memory (no AOF, no RDB); a crash loses everything',
  redisAof: "ack: appended to the AOF before the reply (appendonly yes, appendfsync no: the kernel writes back); survives kill -9 of redis-server; an OS crash loses what was not written back",
} as const;

const FSYNC = ['never', 'interval', 'always'] as const;
type FsyncMode = (typeof FSYNC)[number];
const WORDS: Record<number, string> = { 2: 'two', 3: 'three', 4: 'four' };

/** Redis streams the events rotate over, as the daemon's requests rotate over 16 /streams paths. */
const STREAMS = 16;

export const replicationScenario: Scenario = {
  name: 'replication',
  title: 'Ring stores on JetStream (serve --nats, 1-3 daemons) against memory, the local durable log and Redis XADD',
  description:
    `autocannon POSTs JSON arrays of \`batch\` events to /streams/bench/<0..${STREAMS - 1}> on \`ringstore serve\` (defaults, --log-level warn): in memory; with its local durable log ` +
    '(--data-dir, --fsync never and interval: param fsync); with --nats (its own nats-server, file storage, R1, loopback: one acknowledged JetStream publish per request, or per group of requests arriving ' +
    'while 2 publishes are in flight, applied by the daemon before it answers); two and three --nats daemons on one JetStream (param daemons), the connections split over them (each applies every batch). ' +
    'A private redis-server gets the same events as pipelined XADD batches of the same size (MAXLEN ~, one stream per path, as many clients as connections), in memory and with appendonly yes, appendfsync no. ' +
    'Then single events per request, and the lag from the 202 on one daemon until a read on the other returns the event. ' +
    'Each row notes what an acknowledgement means, and the CPU time per event of every server process that did the work (daemons summed, nats-server and redis-server separately).',
  reference: 'daemon in memory, JSON array per request',
  default: false,
  params: {
    seconds: { default: 2, help: 'load duration per round and row, s' },
    connections: { default: 16, help: 'concurrent connections (split over a row\'s daemons; Redis clients)' },
    batch: { default: 100, help: 'events per batch request (and per Redis pipeline)' },
    lagSamples: { default: 200, help: 'appends timed from one daemon to the other per round' },
    daemons: { default: '1,2,3', help: 'batch rows with --nats: how many daemons share one JetStream, comma-separated (1 to 8)' },
    fsync: { default: 'never,interval', help: 'batch rows with the local durable log: --fsync modes, comma-separated (never, interval, always)' },
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
    const counts = String(ctx.params.daemons).split(',').map((x) => Number(x.trim()));
    if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) throw new Error(`--daemons takes integers 1 to 8, comma-separated, got ${String(ctx.params.daemons)}`);
    const fsyncs = String(ctx.params.fsync).split(',').map((x) => x.trim());
    if (!fsyncs.every((m): m is FsyncMode => (FSYNC as readonly string[]).includes(m))) throw new Error(`--fsync takes never, interval or always, comma-separated, got ${String(ctx.params.fsync)}`);
    const cannon = await importOptional<{ default: Cannon }>('autocannon');
    if (typeof cannon === 'string') throw new Error(cannon);
    const bin = findBinary('nats-server')!;
    const single = (i: number): string => JSON.stringify(event(i));
    const events = (i: number): Record<string, unknown>[] => Array.from({ length: batch }, (_, j) => event(i * batch + j));
    const array = (i: number): string => JSON.stringify(events(i));
    // One JetStream per group: a group's daemons apply only their own load.
    const groups: Record<string, { daemons: Daemon[]; nats?: Nats }> = {};
    const rigs: Partial<Record<RedisKeeping, RedisRig>> = {};
    const load = (): string => `load ${os.loadavg()[0].toFixed(1)} at the round's end`;

    const drive = async (key: string, requests: () => CannonRequest[], perRequest: number, ack: string): Promise<Sample> => {
      const { daemons, nats } = groups[key]!;
      const seq0 = nats === undefined ? 0 : await logSequence(nats.url);
      const pids = [...daemons.map((d) => d.child.pid), ...(nats !== undefined ? [nats.child.pid] : [])];
      const c0 = pids.map(cpuMs);
      const h0 = process.cpuUsage();
      // The connections are split over the group's daemons, all driven at once.
      const share = split(connections, daemons.length);
      const results = await Promise.all(daemons.map((d, i) => cannon.default({ url: d.url, requests: requests(), connections: share[i], duration: seconds, pipelining: 1 })));
      const c1 = pids.map(cpuMs);
      const h1 = process.cpuUsage(h0);
      const published = nats === undefined ? undefined : (await logSequence(nats.url)) - seq0;
      let ok = 0;
      let total = 0;
      let failed = 0;
      for (const r of results) {
        ok += r.requests.total - r.non2xx - r.errors - r.timeouts;
        total += r.requests.total;
        failed += r.non2xx + r.errors + r.timeouts;
      }
      if (ok <= 0) throw new Error(`no request succeeded (${failed} failed)`);
      const ops = ok * perRequest;
      const ms = Math.max(...results.map((r) => r.duration)) * 1000;
      const n = daemons.length;
      const dae = cpuDelta(c0.slice(0, n), c1.slice(0, n), ops);
      const srv = nats === undefined ? undefined : cpuDelta(c0.slice(n), c1.slice(n), ops);
      if (dae !== undefined && srv !== undefined) dae.sum.threads!['nats-server'] = srv.sum.process;
      const r0 = results[0]!;
      return {
        ops, ms,
        latencySummary: { count: total, p50: r0.latency.p50, p99: r0.latency.p99, p999: r0.latency.p99_9 ?? r0.latency.max, max: r0.latency.max },
        ...(dae !== undefined ? { cpuUsPerOp: dae.sum } : {}),
        note: `${ack}. ${total} requests per round (${Math.round((total / ms) * 1000)}/s), ${failed} failed` +
          (published === undefined ? '' : `; ${published} JetStream messages (${Math.round((published / ms) * 1000)} publishes/s, ${(ok / published).toFixed(2)} requests a message)`) +
          `; CPU: main, whole process and thread groups summed over the ${n === 1 ? 'daemon' : `${n} daemons`}` +
          (n > 1 && dae !== undefined ? ` (each daemon's process: ${dae.each.map((x) => x.toFixed(2)).join(', ')} µs)` : '') +
          (srv !== undefined ? '; nats-server (whole process) apart' : '') +
          `; the load generator (autocannon, this process, not counted): ${((h1.user + h1.system) / ops).toFixed(2)} µs per event; ${load()}`,
      };
    };
    const group = (key: string, count: number, keeping: Keeping | 'nats') => ({
      async setup(): Promise<void> {
        if (groups[key] !== undefined) return;
        const nats = keeping === 'nats' ? await startNats(bin) : undefined;
        const daemons: Daemon[] = [];
        groups[key] = { daemons, ...(nats !== undefined ? { nats } : {}) };
        // Started together (a loaded machine makes each start slow); on a failure, the ones that started are stopped by teardown.
        const started = await Promise.allSettled(Array.from({ length: count }, () => startDaemon(nats !== undefined ? { kind: 'nats', url: nats.url } : (keeping as Keeping))));
        for (const r of started) if (r.status === 'fulfilled') daemons.push(r.value);
        const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      },
      async teardown(): Promise<void> {
        const g = groups[key];
        if (g === undefined) return;
        delete groups[key];
        for (const d of g.daemons) await stopDaemon(d);
        await stopNats(g.nats);
      },
    });
    const redisCase = async (name: string, keeping: RedisKeeping, ack: string, vs?: string): Promise<Case> => {
      const skip = missing('ioredis') ?? (findBinary('redis-server') === null ? 'no redis-server binary on PATH' : null);
      if (skip !== null) return { name, role: 'peer', skip, run: () => ({ ops: 0, ms: 0 }) };
      // The daemon's default ring: 65,536 events per partition, one partition per core, over STREAMS streams.
      const maxLen = Math.ceil((65_536 * os.availableParallelism()) / STREAMS);
      return {
        name, role: 'peer', ...(vs !== undefined ? { vs } : {}),
        async setup() {
          const r = await startRedisRig(keeping, connections);
          if (typeof r === 'string') throw new Error(r);
          rigs[keeping] = r;
        },
        async run(): Promise<Sample> {
          const s = await driveRedis(rigs[keeping]!, events, seconds, STREAMS, maxLen);
          return { ...s, note: `${ack}. redis ${rigs[keeping]!.peer.version}; ${s.note}; MAXLEN ~ ${maxLen} per stream; ${load()}` };
        },
        async teardown() {
          const r = rigs[keeping];
          delete rigs[keeping];
          if (r !== undefined) await stopRedisRig(r);
        },
      };
    };
    const arrays = (): CannonRequest[] => rotating(array, 'application/json');
    const REDIS_AOF = `peer: Redis XADD pipelined ${batch} deep, appendonly yes, appendfsync no`;
    const REF_SINGLE = 'daemon in memory, 1 JSON event per request';
    const LAG = 'lag: 202 on daemon A until a read on daemon B returns the event (--nats)';
    const cases: Case[] = [
      { name: replicationScenario.reference, role: 'subject', ...group('memory', 1, { kind: 'memory' }), run: () => drive('memory', arrays, batch, ACK.memory) },
      ...fsyncs.map((mode): Case => ({
        name: `daemon --data-dir --fsync ${mode}, JSON array of ${batch} per request`, role: 'subject', vs: REDIS_AOF,
        ...group(mode, 1, { kind: 'log', fsync: mode }), run: () => drive(mode, arrays, batch, ACK[mode]),
      })),
      ...counts.map((n): Case => ({
        name: n === 1 ? `daemon --nats, JSON array of ${batch} per request` : `${WORDS[n] ?? n} daemons --nats on one JetStream, JSON array of ${batch} per request, load split`,
        role: 'subject', vs: REDIS_AOF, ...group(`nats${n}`, n, 'nats'), run: () => drive(`nats${n}`, arrays, batch, ACK.nats),
      })),
      await redisCase(`peer: Redis XADD pipelined ${batch} deep, in memory`, 'memory', ACK.redisMemory),
      await redisCase(REDIS_AOF, 'aof-no', ACK.redisAof),
      { name: REF_SINGLE, role: 'subject', vs: REF_SINGLE, ...group('memory', 1, { kind: 'memory' }), run: () => drive('memory', () => rotating(single, 'application/json'), 1, ACK.memory) },
      { name: 'daemon --nats, 1 JSON event per request', role: 'subject', vs: REF_SINGLE, ...group('nats1', 1, 'nats'), run: () => drive('nats1', () => rotating(single, 'application/json'), 1, ACK.nats) },
      {
        name: LAG, role: 'subject', op: 'appends', vs: LAG,
        ...group('nats2', 2, 'nats'),
        async run(round): Promise<Sample> {
          const [a, b] = groups.nats2!.daemons;
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
