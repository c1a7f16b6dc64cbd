/**
 * The daemon over HTTP, under autocannon on loopback: single-event POSTs and
 * 100-event batches (JSON array, NDJSON) to `ringstore serve`, beside a bare
 * node:http server and a minimal fastify app doing the least the same request
 * needs (parse, push into an array, answer the same shape), and Redis XADD
 * pipelined as deep as a batch (redis-benchmark). Every server runs in its own
 * process, the load generator in this one; each server's CPU time per event
 * (main thread and whole process, from /proc) is noted, which moves much less
 * than throughput with other tenants' load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DAEMON_PACKAGES } from '../../../src/cli/package-info.js';
import { importOptional, missing } from '../optional.js';
import { findBinary, freePort } from '../redis.js';
import type { Case, CpuPerOp, Sample, Scenario, ScenarioContext, Target } from '../types.js';

export const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const PEERS = fileURLToPath(new URL('./http-peers.js', import.meta.url));
/** Appends rotate over this many streams, so they spread over the partitions. */
const STREAMS = 16;

export interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; p99_9?: number; max: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
export interface CannonRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: CannonRequest) => CannonRequest;
}
export type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;

/** A server in its own process. */
export interface Server {
  url: string;
  child: ChildProcess;
}

/** Node's profiler flags pass on to the daemon's process, so `ringstore profile daemon --tool cpu-prof` profiles it too. */
function profilerFlags(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    if (!/^--(cpu|heap)-prof/.test(argv[i])) continue;
    out.push(argv[i]);
    // `--cpu-prof-dir D` (not `--cpu-prof-dir=D`): its value is the next argument.
    if (/^--(cpu|heap)-prof-(dir|name|interval)$/.test(argv[i]) && i + 1 < argv.length) out.push(argv[++i]);
  }
  return out;
}

export async function waitUntil(check: () => Promise<boolean>, what: string, child: ChildProcess): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it was ready`);
    try {
      if (await check()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`${what} was not ready after 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A server: a peer, or the daemon with `--ingest-threads n` (`daemon:n`; `daemon`: its default). */
type ServerKind = 'daemon' | `daemon:${number}` | 'bare' | 'fastify';

async function startServer(kind: ServerKind): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const daemon = kind.startsWith('daemon');
  const threads = kind.startsWith('daemon:') ? ['--ingest-threads', kind.slice('daemon:'.length)] : [];
  const args = daemon
    ? [...profilerFlags(), MAIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...threads]
    : [PEERS, kind, String(port)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await waitUntil(async () => (daemon ? (await fetch(`${url}/ready`)).ok : out.includes('ready')), `${kind} server`, child);
  return { url, child };
}

export async function stopServer(s: Server | undefined): Promise<void> {
  if (s === undefined || s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

/** A thread's group by its name: the daemon names its partition workers `rs-<store>-p<i>` and its ingest threads `rs-ingest-<id>`. */
function threadGroup(pid: number, tid: number, comm: string): string {
  if (tid === pid) return 'main';
  if (comm.startsWith('rs-ingest')) return 'ingest';
  if (comm.startsWith('rs-')) return 'partitions';
  return 'other'; // libuv's pool, V8's GC and compiler threads
}

/** CPU ms of a process's main thread, of the whole process and per thread group, from /proc (Linux; undefined elsewhere). */
export function cpuMs(pid: number | undefined): CpuPerOp | undefined {
  if (pid === undefined) return undefined;
  const read = (file: string): { comm: string; ms: number } => {
    const text = readFileSync(file, 'utf8');
    const f = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    // utime + stime, in clock ticks of 1/100 s
    return { comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(') ')), ms: ((Number(f[11]) + Number(f[12])) * 1000) / 100 };
  };
  try {
    const threads: Record<string, number> = { main: 0, ingest: 0, partitions: 0, other: 0 };
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const r = read(`/proc/${pid}/task/${t}/stat`);
        threads[threadGroup(pid, Number(t), r.comm)] += r.ms;
      } catch { /* the thread ended */ }
    }
    return { main: read(`/proc/${pid}/task/${pid}/stat`).ms, process: read(`/proc/${pid}/stat`).ms, threads };
  } catch {
    return undefined;
  }
}

/** CPU µs per op between two readings (a thread that ended between them counts what it used before). */
function perOp(c0: CpuPerOp, c1: CpuPerOp, ops: number): CpuPerOp {
  const us = (a: number, b: number): number => ((b - a) * 1000) / ops;
  const groups = Object.keys(c1.threads ?? {});
  return {
    main: us(c0.main, c1.main), process: us(c0.process, c1.process),
    ...(groups.length > 0 ? { threads: Object.fromEntries(groups.map((g) => [g, Math.max(0, us(c0.threads?.[g] ?? 0, c1.threads?.[g] ?? 0))])) } : {}),
  };
}

/** Requests that rotate over {@link STREAMS} streams, each with its own body. */
export function rotating(body: (n: number) => string, contentType: string): CannonRequest[] {
  let n = 0;
  return [{
    method: 'POST', path: '/streams/bench/0', headers: { 'content-type': contentType },
    setupRequest: (req) => {
      n++;
      return { ...req, path: `/streams/bench/${n % STREAMS}`, body: body(n) };
    },
  }];
}

export const event = (i: number): Record<string, unknown> => ({ valor: (i * 7919) % 5000, gatewayId: `gw-${i % 3}`, note: 'order created by the benchmark' });

/** Runs a command to its end; its stdout. */
function output(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}: ${err.slice(0, 300)}`))));
  });
}

/** Redis XADD pipelined `batch` deep by redis-benchmark against the harness's redis-server. */
async function redisXaddCase(ctx: ScenarioContext, name: string, batch: number, connections: number, seconds: number): Promise<Case> {
  const bin = findBinary('redis-benchmark');
  const redis = bin === null ? 'no redis-benchmark binary on PATH' : await ctx.redis();
  if (typeof redis === 'string') return { name, role: 'peer', skip: redis, run: () => ({ ops: 0, ms: 0 }) };
  const total = Math.max(20_000, Math.round(seconds * 400_000));
  return {
    name: `${name}, redis ${redis.version}`, role: 'peer',
    async run(): Promise<Sample> {
      const csv = await output(bin!, [
        '-h', '127.0.0.1', '-p', String(redis.port), '-c', String(connections), '-n', String(total), '-P', String(batch), '--csv',
        'XADD', 'bench', 'MAXLEN', '~', '1000000', '*', 'valor', '1234', 'gatewayId', 'gw-1',
      ]);
      // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
      const cells = (csv.trim().split('\n').pop() ?? '').split(',').map((c) => Number(c.replaceAll('"', '')));
      const rps = cells[1];
      if (!Number.isFinite(rps) || rps <= 0) throw new Error(`could not read redis-benchmark's output: ${csv.slice(0, 200)}`);
      return {
        ops: total, ms: (total / rps) * 1000,
        latencySummary: { count: total / batch, p50: cells[4], p99: cells[6], p999: cells[7], max: cells[7] },
        note: `redis-benchmark -P ${batch} -c ${connections}: latency per pipelined batch (p999 column: max)`,
      };
    },
  };
}

export const daemonScenario: Scenario = {
  name: 'daemon',
  title: 'The daemon over HTTP (single events, JSON and NDJSON batches)',
  description:
    `autocannon POSTs to /streams/bench/<0..${STREAMS - 1}> on \`ringstore serve\` (its defaults, --log-level warn) in its own process: one JSON event per request, a JSON array batch and NDJSON lines. ` +
    'Beside it, in their own processes, a bare node:http server and a minimal fastify app that parse the same body, push it into an array and answer the same shape, and Redis XADD pipelined as deep ' +
    'as a batch (redis-benchmark). Throughput is events per second, latency per request; the notes give each server\'s CPU time per event.',
  reference: 'floor: bare node:http + JSON.parse + array push, 1 JSON event per request',
  default: true,
  params: {
    seconds: { default: 1.5, help: 'autocannon duration per round, s' },
    connections: { default: 16, help: 'concurrent connections' },
    batch: { default: 100, help: 'events per batch request' },
    'ingest-threads': { default: '0,1', help: 'the daemon\'s --ingest-threads for the batch rows (comma-separated; 0 = no pool, the main thread appends)' },
  },
  async pending() {
    const m = missing(...DAEMON_PACKAGES, 'autocannon');
    return m === null ? null : `the daemon and its load generator need packages: ${m}`;
  },
  async cases(ctx) {
    const seconds = Number(ctx.params.seconds);
    const connections = Number(ctx.params.connections);
    const batch = Number(ctx.params.batch);
    const cannon = await importOptional<{ default: Cannon }>('autocannon');
    if (typeof cannon === 'string') throw new Error(cannon);
    const FLOOR = daemonScenario.reference;
    const FLOOR_BATCH = `floor: bare node:http + JSON.parse + array push, JSON array of ${batch}`;
    const REDIS = `peer: Redis XADD pipelined ${batch} deep (redis-benchmark)`;
    const servers: Partial<Record<ServerKind, Server>> = {};
    const pools = String(ctx.params['ingest-threads']).split(',').map((x) => Number(x.trim()));
    if (pools.some((n) => !Number.isInteger(n) || n < 0 || n > 15)) throw new Error(`--ingest-threads takes integers 0 to 15, comma-separated, got ${String(ctx.params['ingest-threads'])}`);
    const single = (i: number): string => JSON.stringify(event(i));
    const array = (i: number): string => JSON.stringify(Array.from({ length: batch }, (_, j) => event(i * batch + j)));
    const ndjson = (i: number): string => `${Array.from({ length: batch }, (_, j) => JSON.stringify(event(i * batch + j))).join('\n')}\n`;

    const drive = async (kind: ServerKind, requests: CannonRequest[], perRequest: number): Promise<Sample> => {
      const s = servers[kind]!;
      const c0 = cpuMs(s.child.pid);
      const r = await cannon.default({ url: s.url, requests, connections, duration: seconds, pipelining: 1 });
      const c1 = cpuMs(s.child.pid);
      const ok = r.requests.total - r.non2xx - r.errors - r.timeouts;
      if (ok <= 0) throw new Error(`no request succeeded (${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts)`);
      const ops = ok * perRequest;
      return {
        ops, ms: r.duration * 1000,
        latencySummary: { count: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, p999: r.latency.p99_9 ?? r.latency.max, max: r.latency.max },
        ...(c0 && c1 ? { cpuUsPerOp: perOp(c0, c1, ops) } : {}),
        note: `${r.requests.total} requests per round, ${r.non2xx} non-2xx, ${r.errors + r.timeouts} errors; latency per request (autocannon, ms resolution)`,
      };
    };
    const serverCase = (kind: ServerKind, c: Omit<Case, 'setup' | 'teardown'>): Case => ({
      ...c,
      async setup() {
        servers[kind] ??= await startServer(kind);
      },
      teardown: async () => {
        await stopServer(servers[kind]);
        delete servers[kind];
      },
    });
    // Issue 15: a batch row at >= 0.8x the bare parse+push peer and >= 0.8x Redis pipelined XADD, in the same run.
    const bulkTarget: Target = {
      text: '>= 0.8x bare parse+push and >= 0.8x Redis XADD pipelined',
      met: (c, all) => {
        const redis = all.find((x) => x.name.startsWith(REDIS));
        return redis === undefined || !(redis.median > 0) ? null : c.ratio >= 0.8 && c.median / redis.median >= 0.8;
      },
    };
    const withPool = (n: number): string => (n === 0 ? 'no ingest threads' : `${n} ingest thread${n === 1 ? '' : 's'}`);
    const cases: Case[] = [
      serverCase('daemon', {
        name: 'ringstore daemon, 1 JSON event per request', role: 'subject', target: { text: '>= 0.9x bare node:http', met: (c) => c.ratio >= 0.9 },
        run: () => drive('daemon', rotating(single, 'application/json'), 1),
      }),
      ...pools.flatMap((n): Case[] => [
        serverCase(`daemon:${n}`, { name: `ringstore daemon, JSON array of ${batch} per request, ${withPool(n)}`, role: 'subject', vs: FLOOR_BATCH, target: bulkTarget, run: () => drive(`daemon:${n}`, rotating(array, 'application/json'), batch) }),
        serverCase(`daemon:${n}`, { name: `ringstore daemon, NDJSON ${batch} lines per request, ${withPool(n)}`, role: 'subject', vs: FLOOR_BATCH, target: bulkTarget, run: () => drive(`daemon:${n}`, rotating(ndjson, 'application/x-ndjson'), batch) }),
      ]),
    ];
    if (ctx.subjectsOnly) return cases;
    return [
      ...cases,
      serverCase('bare', { name: FLOOR, role: 'floor', run: () => drive('bare', rotating(single, 'application/json'), 1) }),
      serverCase('fastify', { name: 'peer: minimal fastify + array push (no hooks, schemas or logger), 1 JSON event per request', role: 'peer', run: () => drive('fastify', rotating(single, 'application/json'), 1) }),
      serverCase('bare', { name: FLOOR_BATCH, role: 'floor', run: () => drive('bare', rotating(array, 'application/json'), batch) }),
      await redisXaddCase(ctx, REDIS, batch, connections, seconds),
    ];
  },
};
