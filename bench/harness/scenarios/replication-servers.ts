/**
 * The processes the `replication` scenario measures, each in its own process:
 * a nats-server with JetStream on a temporary store, `ringstore serve` (in
 * memory, with a local durable log, or on JetStream), and a private
 * redis-server driven with pipelined XADD batches of the same events the
 * daemons get. CPU time is read from /proc for every one of them, so a row's
 * CPU per event covers every server process that did its work.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis as RedisClient } from 'ioredis';
import { importOptional } from '../optional.js';
import { freePort, startRedis, type RedisPeer } from '../redis.js';
import type { CpuPerOp, Sample } from '../types.js';
import { MAIN, cpuMs, stopServer, waitUntil, type Server } from './daemon.js';

/** A nats-server with JetStream on a temporary store. */
export interface Nats {
  url: string;
  child: ChildProcess;
  dir: string;
}

/** Last sequence of the `/streams` ring log on a server: the JetStream messages published so far. */
export async function logSequence(url: string): Promise<number> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: [url] });
  try {
    return (await (await jetstreamManager(nc)).streams.info('RINGSTORE_RING_STREAMS')).state.last_seq;
  } finally {
    await nc.close();
  }
}

export async function startNats(bin: string): Promise<Nats> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-nats-'));
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  await waitUntil(async () => /Server is ready/.test(log), 'nats-server', child);
  return { url: `nats://127.0.0.1:${port}`, child, dir };
}

export async function stopNats(n: Nats | undefined): Promise<void> {
  if (n === undefined) return;
  if (n.child.exitCode === null) {
    const exited = new Promise((r) => n.child.once('exit', r));
    n.child.kill('SIGTERM');
    await exited;
  }
  rmSync(n.dir, { recursive: true, force: true });
}

/** How a daemon keeps its ring stores: in memory, a local durable log (`--data-dir`, `--fsync`), or JetStream. */
export type Keeping = { kind: 'memory' } | { kind: 'log'; fsync: 'never' | 'interval' | 'always' } | { kind: 'nats'; url: string };

/** A daemon and the temporary data directory it owns (removed by {@link stopDaemon}). */
export interface Daemon extends Server {
  dir?: string;
}

export async function startDaemon(keeping: Keeping): Promise<Daemon> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = keeping.kind === 'log' ? mkdtempSync(join(tmpdir(), 'rs-bench-data-')) : undefined;
  const extra =
    keeping.kind === 'nats' ? ['--nats', keeping.url] : keeping.kind === 'log' ? ['--data-dir', dir!, '--fsync', keeping.fsync] : [];
  const args = [MAIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitUntil(async () => (await fetch(`${url}/ready`)).ok, 'daemon', child);
  } catch (err) {
    child.kill('SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { url, child, ...(dir !== undefined ? { dir } : {}) };
}

export async function stopDaemon(d: Daemon): Promise<void> {
  await stopServer(d);
  if (d.dir !== undefined) rmSync(d.dir, { recursive: true, force: true });
}

/** `connections` split over `n` servers as evenly as possible, at least one each. */
export function split(connections: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.max(1, Math.floor(connections / n) + (i < connections % n ? 1 : 0)));
}

/** CPU µs per op of a set of processes between two readings, thread groups summed (undefined when a reading is missing). */
export function cpuDelta(c0: (CpuPerOp | undefined)[], c1: (CpuPerOp | undefined)[], ops: number): { sum: CpuPerOp; each: number[] } | undefined {
  const us = (a: number, b: number): number => ((b - a) * 1000) / ops;
  const sum: CpuPerOp = { main: 0, process: 0, threads: {} };
  const each: number[] = [];
  for (let i = 0; i < c0.length; i++) {
    const a = c0[i];
    const b = c1[i];
    if (a === undefined || b === undefined) return undefined;
    sum.main += us(a.main, b.main);
    sum.process += us(a.process, b.process);
    each.push(us(a.process, b.process));
    for (const [g, ms] of Object.entries(b.threads ?? {})) sum.threads![g] = (sum.threads![g] ?? 0) + Math.max(0, us(a.threads?.[g] ?? 0, ms));
  }
  return { sum, each };
}

/** What a Redis row keeps: nothing (no persistence) or an AOF written before each reply, fsynced by the OS (`appendfsync no`). */
export type RedisKeeping = 'memory' | 'aof-no';

/** A private redis-server on a free port, its pid (for /proc) and `connections` clients, one pipelined batch in flight each. */
export interface RedisRig {
  peer: RedisPeer;
  pid: number;
  clients: RedisClient[];
  dir: string | undefined;
}

export async function startRedisRig(keeping: RedisKeeping, connections: number): Promise<RedisRig | string> {
  const dir = keeping === 'aof-no' ? mkdtempSync(join(tmpdir(), 'rs-bench-redis-')) : undefined;
  const persistence = dir === undefined ? undefined : ['--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'no'];
  const peer = await startRedis(undefined, persistence);
  if (typeof peer === 'string') {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    return peer;
  }
  const pid = Number(/process_id:(\d+)/.exec(await peer.client.info('server'))?.[1]);
  const ioredis = await importOptional<typeof import('ioredis')>('ioredis');
  if (typeof ioredis === 'string') throw new Error(ioredis); // startRedis loaded it already
  const clients: RedisClient[] = [];
  for (let i = 0; i < connections; i++) clients.push(new ioredis.Redis({ port: peer.port, host: '127.0.0.1', maxRetriesPerRequest: 1 }));
  return { peer, pid, clients, dir };
}

export async function stopRedisRig(r: RedisRig): Promise<void> {
  for (const c of r.clients) c.disconnect();
  await r.peer.stop();
  if (r.dir !== undefined) rmSync(r.dir, { recursive: true, force: true });
}

/**
 * Every client sends pipelined batches of `batch` XADDs (one event each, the
 * same JSON the daemons get, over `streams` Redis streams trimmed with
 * `MAXLEN ~ maxLen`), waits for the replies, and sends the next, for `seconds`:
 * the same shape as autocannon's connections with one batch request in flight.
 */
export async function driveRedis(r: RedisRig, body: (i: number) => Record<string, unknown>[], seconds: number, streams: number, maxLen: number): Promise<Sample> {
  const c0 = cpuMs(r.pid);
  const h0 = process.cpuUsage();
  const lat: number[] = [];
  let batches = 0;
  let events = 0;
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(r.clients.map(async (client) => {
    while (performance.now() < end) {
      const i = n++;
      const p = client.pipeline();
      const list = body(i);
      for (const e of list) p.xadd(`bench:${i % streams}`, 'MAXLEN', '~', String(maxLen), '*', 'd', JSON.stringify(e));
      const s = performance.now();
      const replies = await p.exec();
      const failed = replies?.find(([err]) => err !== null);
      if (replies === null || failed !== undefined) throw new Error(`XADD pipeline failed: ${failed?.[0]?.message ?? 'no replies'}`);
      lat.push(performance.now() - s);
      batches++;
      events += list.length;
    }
  }));
  const ms = performance.now() - t0;
  const c1 = cpuMs(r.pid);
  const h1 = process.cpuUsage(h0);
  const cpu = c0 !== undefined && c1 !== undefined ? cpuDelta([c0], [c1], events) : undefined;
  return {
    ops: events, ms, latenciesMs: lat,
    ...(cpu !== undefined ? { cpuUsPerOp: { main: cpu.sum.main, process: cpu.sum.process } } : {}),
    note: `${batches} pipelined batches (${Math.round((batches / ms) * 1000)}/s), latency per batch; CPU of redis-server (main thread and process); the load generator (ioredis, this process, not counted, like autocannon): ${((h1.user + h1.system) / events).toFixed(2)} µs per event`,
  };
}
