/**
 * `npm run soak -- --minutes N`: runs a daemon as a child process, drives mixed
 * traffic at it (traffic.ts), samples its RSS, used heap, request p50/p99 and
 * event-loop delay every `--sample-seconds`, judges the run (analysis.ts:
 * bounded memory over the second half, stable p99, no failures) and writes
 * `soak.json`, `soak.svg` and `soak.md` to `--out`. Exits 1 when the run
 * fails. Flags after a second `--` go to `ringstore serve`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, percentile } from '../harness/stats.js';
import { DEFAULT_LIMITS, judge, judgedFrom, theilSen, type SoakSample, type SoakVerdict } from './analysis.js';
import { renderSoakSvg } from './chart.js';
import { readSmaps, rssByClass, growth, type Mapping } from './smaps.js';
import { Traffic } from './traffic.js';

const USAGE = `usage: npm run soak -- [options] [-- <ringstore serve flags>]

  --minutes <n>          length of the run (default 1; the verdict means something from 10)
  --sample-seconds <n>   sample period (default 10)
  --rate <n>             requests per second (default 300)
  --concurrency <n>      keep-alive connections (default 16)
  --subscribers <n>      SSE subscribers (default 20)
  --names <n>            distinct stream names and metric labels (default 20000)
  --fresh-names          a new name for every write (memory per distinct name)
  --partitions <n>       daemon partitions (default 2)
  --capacity <n>         events per ring store (default: the daemon's)
  --max-rss-slope <mb>   MB/min of RSS growth allowed over the second half (default ${DEFAULT_LIMITS.maxRssSlope})
  --max-heap-slope <mb>  MB/min of heap growth allowed over the second half (default ${DEFAULT_LIMITS.maxHeapSlope})
  --live-heaps           a full GC in every daemon thread before each sample (node --expose-gc): the heaps
                         sampled are live memory, not garbage awaiting a collection (diagnostic; slows the daemon)
  --out <dir>            where soak.json, soak.svg and soak.md go (default bench/results/soak)
`;

interface SoakArgs {
  minutes: number;
  sampleSeconds: number;
  rate: number;
  concurrency: number;
  subscribers: number;
  names: number;
  freshNames: boolean;
  liveHeaps: boolean;
  partitions: number;
  capacity: number | undefined;
  maxRssSlope: number;
  maxHeapSlope: number;
  out: string;
  daemonArgs: string[];
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): SoakArgs | 'help' {
  const a: SoakArgs = {
    minutes: 1, sampleSeconds: 10, rate: 300, concurrency: 16, subscribers: 20, names: 20_000, freshNames: false, liveHeaps: false, partitions: 2,
    capacity: undefined, maxRssSlope: DEFAULT_LIMITS.maxRssSlope, maxHeapSlope: DEFAULT_LIMITS.maxHeapSlope, out: 'bench/results/soak', daemonArgs: [],
  };
  const numbers: Record<string, keyof SoakArgs> = {
    '--minutes': 'minutes', '--sample-seconds': 'sampleSeconds', '--rate': 'rate', '--concurrency': 'concurrency', '--subscribers': 'subscribers',
    '--names': 'names', '--partitions': 'partitions', '--capacity': 'capacity', '--max-rss-slope': 'maxRssSlope', '--max-heap-slope': 'maxHeapSlope',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      a.daemonArgs = argv.slice(i + 1);
      break;
    }
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--fresh-names' || arg === '--live-heaps') {
      if (arg === '--fresh-names') a.freshNames = true;
      else a.liveHeaps = true;
      continue;
    }
    const [flag, inline] = arg.split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (flag === '--out') a.out = value;
    else if (numbers[flag] !== undefined) {
      const n = Number(value);
      const min = flag === '--subscribers' || flag.startsWith('--max-') ? 0 : Number.MIN_VALUE;
      if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} must be a number${min === 0 ? ' >= 0' : ' > 0'}, got "${value}"`);
      (a as unknown as Record<string, number>)[numbers[flag]] = n;
    } else throw new UsageError(`unknown option "${arg}"`);
  }
  if (a.minutes * 60 < 4 * a.sampleSeconds) throw new UsageError(`--minutes must cover at least 4 samples (${(4 * a.sampleSeconds) / 60} min at --sample-seconds ${a.sampleSeconds})`);
  return a;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => res(port));
    });
  });
}

async function startDaemon(a: SoakArgs): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const args = [...(a.liveHeaps ? ['--expose-gc'] : []), main, 'serve', '--port', String(port), '--log-level', 'warn', '--partitions', String(a.partitions), ...(a.capacity !== undefined ? ['--capacity', String(a.capacity)] : []), ...a.daemonArgs];
  const env = a.liveHeaps ? { ...process.env, RINGSTORE_GC_BEFORE_MEMORY: '1' } : process.env;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}`);
    try {
      // /ready, not /health: a durable daemon (--data-dir) answers /health from its startup gate while it
      // restores, 503 to everything else, then refuses connections for a moment while the full server takes
      // the port (src/server/startup-gate.ts); a warm-up started on /health lost 1,460 of its requests so.
      if ((await fetch(`${url}/ready`)).ok) return { child, url };
    } catch { /* not listening yet, or between the startup gate and the full server */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the daemon was not ready (GET /ready) within 30 s');
}

/** RSS of a process in MB, from /proc (Linux), or NaN. */
function rssMB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

interface Scrape {
  heapUsedMB: number;
  lagP99: number;
  rssMB: number;
  /** Keys with live events in the stores. */
  keys: number;
  /** Used heap per thread (MB): `main`, `streams-p0`... */
  threads: Record<string, number>;
  /** Heap reserved by every thread together (MB). */
  heapTotalMB: number;
  /** The main thread's external and ArrayBuffer memory (MB). */
  externalMB: number;
  arrayBuffersMB: number;
}

/** Heaps, event-loop delay p99 (ms) and RSS (MB) from the daemon's Prometheus exposition. */
async function scrape(url: string): Promise<Scrape> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    const threads: Record<string, number> = {};
    let heapTotalMB = 0;
    const mem: Record<string, number> = {};
    for (const m of text.matchAll(/^ringstore_thread_memory_bytes\{thread="([^"]+)",kind="([^"]+)"\} (\S+)/gm)) {
      if (m[2] === 'heapUsed') threads[m[1]] = Number(m[3]) / 2 ** 20;
      if (m[2] === 'heapTotal') heapTotalMB += Number(m[3]) / 2 ** 20;
      if (m[1] === 'main') mem[m[2]] = Number(m[3]) / 2 ** 20;
    }
    let keys = 0;
    for (const m of text.matchAll(/^ringstore_store_keys\{store="[^"]+"\} (\S+)/gm)) keys += Number(m[1]);
    return {
      heapUsedMB: value('nodejs_heap_size_used_bytes') / 2 ** 20, lagP99: value('nodejs_eventloop_lag_p99_seconds') * 1000, rssMB: value('process_resident_memory_bytes') / 2 ** 20,
      keys, threads, heapTotalMB: heapTotalMB > 0 ? heapTotalMB : Number.NaN, externalMB: mem.external ?? Number.NaN, arrayBuffersMB: mem.arrayBuffers ?? Number.NaN,
    };
  } catch {
    return { heapUsedMB: Number.NaN, lagP99: Number.NaN, rssMB: Number.NaN, keys: Number.NaN, threads: {}, heapTotalMB: Number.NaN, externalMB: Number.NaN, arrayBuffersMB: Number.NaN };
  }
}

type Grown = ReturnType<typeof growth>;

/** Theil–Sen slope (MB/min) of one figure over the judged part. */
function slopeOf(samples: readonly SoakSample[], pick: (s: SoakSample) => number): number {
  const part = samples.slice(judgedFrom(samples.length)).filter((s) => Number.isFinite(pick(s)));
  return theilSen(part.map((s) => s.t / 60), part.map(pick));
}

function report(a: SoakArgs, samples: SoakSample[], v: SoakVerdict, subtitle: string, grown: Grown, warmUpSeconds: number | undefined): string {
  const kinds = [...new Set(samples.flatMap((s) => Object.keys(s.mappings)))].sort();
  const mb = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(0));
  const rows = samples.map((s) => `| ${(s.t / 60).toFixed(2)} | ${mb(s.rssMB)} | ${mb(s.heapUsedMB)} | ${mb(s.workerHeapMB)} | ${mb(s.heapTotalMB)} | ${s.keys} | ${mb(s.externalMB)} | ${mb(s.arrayBuffersMB)} | ${kinds.map((k) => mb(s.mappings[k])).join(' | ')}${kinds.length > 0 ? ' | ' : ''}${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.healthP99.toFixed(1)} | ${s.lagP99.toFixed(1)} | ${s.requests} | ${s.errors} | ${s.sseEvents} | ${s.subscribers} |`);
  const threads = [...new Set(samples.flatMap((s) => Object.keys(s.threads)))];
  const last = samples[samples.length - 1];
  const first = samples[judgedFrom(samples.length)];
  return [
    `# Soak: ${v.ok ? 'passed' : 'FAILED'}`,
    '',
    subtitle,
    '',
    ...(warmUpSeconds !== undefined ? [`Warm-up before the first sample: one write to each of the ${a.names} stream names and metric labels (${warmUpSeconds.toFixed(0)} s).`, ''] : []),
    `- Slopes over the second half (Theil–Sen): RSS **${v.rssSlope.toFixed(2)} MB/min** (limit ${a.maxRssSlope}); main heap **${v.heapSlope.toFixed(2)} MB/min**, partition workers' heaps **${v.workerHeapSlope.toFixed(2)} MB/min** (limit ${a.maxHeapSlope} each).`,
    `- p99: ${v.p99Early.toFixed(1)} ms in the second quarter, ${v.p99Late.toFixed(1)} ms in the last.`,
    `- /health p99 per sample (a probe every 100 ms on its own connection): median ${median(samples.map((s) => s.healthP99).filter(Number.isFinite)).toFixed(1)} ms, max ${Math.max(...samples.map((s) => s.healthP99).filter(Number.isFinite)).toFixed(1)} ms.`,
    `- ${v.requests} requests, ${v.errors} failed.`,
    ...v.failures.map((f) => `- failure: ${f}`),
    '',
    '![soak](soak.svg)',
    '',
    ...(first !== undefined && last !== undefined && threads.length > 0 ? [
      'Used heap per thread (MB), at the start of the second half and at the end:',
      '',
      `| thread | ${threads.join(' | ')} |`,
      `|---|${threads.map(() => '---').join('|')}|`,
      `| ${(first.t / 60).toFixed(1)} min | ${threads.map((t) => mb(first.threads[t])).join(' | ')} |`,
      `| ${(last.t / 60).toFixed(1)} min | ${threads.map((t) => mb(last.threads[t])).join(' | ')} |`,
      '',
    ] : []),
    ...(kinds.length > 0 ? [
      'RSS by kind of mapping, slope over the second half (Theil–Sen, MB/min): ' + kinds.filter((k) => !k.startsWith('[v')).map((k) => `${k} ${slopeOf(samples, (s) => s.mappings[k] ?? Number.NaN).toFixed(2)}`).join('; ') + `; every thread's heap reserved ${slopeOf(samples, (s) => s.heapTotalMB).toFixed(2)}.`,
      '',
    ] : []),
    ...(grown.length > 0 ? [
      'Mappings whose RSS grew most over the second half (/proc/PID/smaps):',
      '',
      '| mapping | kind | MB then | MB at the end |',
      '|---|---|---|---|',
      ...grown.map((g) => `| ${g.mapping} | ${g.kind} | ${g.fromMB.toFixed(1)} | ${g.toMB.toFixed(1)} |`),
      '',
    ] : []),
    `| min | RSS MB | main heap MB | workers' heaps MB | heaps reserved MB | keys | external MB | ArrayBuffers MB | ${kinds.map((k) => `${k} MB`).join(' | ')}${kinds.length > 0 ? ' | ' : ''}p50 ms | p99 ms | /health p99 ms | loop p99 ms | requests | failed | SSE events | subscribers |`,
    `|${'---|'.repeat(16 + kinds.length)}`,
    ...rows,
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  let a: SoakArgs;
  try {
    const parsed = parseArgs(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    a = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`soak: ${err.message}\n${USAGE}`);
    return 2;
  }
  const { child, url } = await startDaemon(a);
  const traffic = new Traffic({ url, rate: a.rate, concurrency: a.concurrency, names: a.names, freshNames: a.freshNames, subscribers: a.subscribers });
  const samples: SoakSample[] = [];
  const subtitle = `${a.minutes} min at ${a.rate} req/s over ${a.concurrency} connections, ${a.subscribers} SSE subscribers, ${a.freshNames ? 'a new name per write' : `${a.names} names`}; ${a.partitions} partitions${a.capacity !== undefined ? `, capacity ${a.capacity}` : ''}${a.daemonArgs.length > 0 ? `, ${a.daemonArgs.join(' ')}` : ''}${a.liveHeaps ? ', live heaps (a full GC before each sample)' : ''} · ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, node ${process.version}`;
  let stopped = false;
  const onSignal = (): void => {
    stopped = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const warm = performance.now();
  const warmFailed = await traffic.warmUp();
  if (warmFailed > 0) {
    child.kill('SIGTERM');
    throw new Error(`${warmFailed} requests of the warm-up failed`);
  }
  const warmUpSeconds = (performance.now() - warm) / 1000;
  if (!a.freshNames) process.stdout.write(`soak: warm-up: wrote to each of the ${a.names} stream names and metric labels once in ${warmUpSeconds.toFixed(1)} s\n`);
  const expected = Math.floor((a.minutes * 60) / a.sampleSeconds);
  let mapsAtJudge: Mapping[] | null = null;
  let mapsLast: Mapping[] | null = null;
  const t0 = performance.now();
  const end = t0 + a.minutes * 60_000;
  traffic.start();
  process.stdout.write(`soak: ${subtitle}\nsoak: daemon ${url} (pid ${child.pid}); a sample every ${a.sampleSeconds} s\n`);
  try {
    while (!stopped && performance.now() < end && child.exitCode === null) {
      const due = t0 + (samples.length + 1) * a.sampleSeconds * 1000;
      while (!stopped && performance.now() < due) await new Promise((r) => setTimeout(r, Math.min(250, due - performance.now())));
      const w = traffic.window();
      const sorted = Float64Array.from(w.latencies).sort();
      const m = await scrape(url);
      const rss = rssMB(child.pid ?? -1);
      const maps = readSmaps(child.pid ?? -1);
      const workers = Object.entries(m.threads).filter(([name]) => name !== 'main').map(([, mb]) => mb);
      const s: SoakSample = {
        t: (performance.now() - t0) / 1000, rssMB: Number.isNaN(rss) ? m.rssMB : rss, heapUsedMB: m.threads.main ?? m.heapUsedMB, p50: percentile(sorted, 50), p99: percentile(sorted, 99), requests: w.requests, errors: w.errors, sseEvents: w.sseEvents, subscribers: w.subscribers, lagP99: m.lagP99,
        healthP99: percentile(Float64Array.from(w.health).sort(), 99), workerHeapMB: workers.length > 0 ? workers.reduce((a, b) => a + b, 0) : Number.NaN, keys: m.keys, threads: m.threads, heapTotalMB: m.heapTotalMB, externalMB: m.externalMB, arrayBuffersMB: m.arrayBuffersMB, mappings: maps === null ? {} : rssByClass(maps),
      };
      samples.push(s);
      // Mappings at the start of the judged part and at the end: which of them grew.
      if (maps !== null && samples.length === judgedFrom(expected) + 1) mapsAtJudge = maps;
      if (maps !== null) mapsLast = maps;
      process.stdout.write(`soak: ${(s.t / 60).toFixed(2)} min  RSS ${s.rssMB.toFixed(0)} MB  heap ${s.heapUsedMB.toFixed(0)} MB  workers' heaps ${s.workerHeapMB.toFixed(0)} MB  p50 ${s.p50.toFixed(1)} ms  p99 ${s.p99.toFixed(1)} ms  /health p99 ${s.healthP99.toFixed(1)} ms  loop p99 ${s.lagP99.toFixed(1)} ms  ${s.requests} req  ${s.errors} failed  ${s.sseEvents} SSE events${w.failures.length > 0 ? `  (${w.failures.join('; ')})` : ''}\n`);
    }
  } finally {
    await traffic.stop();
    child.kill('SIGTERM');
  }
  const verdict = judge(samples, { maxRssSlope: a.maxRssSlope, maxHeapSlope: a.maxHeapSlope });
  if (child.exitCode !== null && child.exitCode !== 0 && !stopped) verdict.failures.push(`the daemon exited with ${child.exitCode} during the run`);
  verdict.ok = verdict.failures.length === 0;
  const out = resolve(a.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'soak.json'), `${JSON.stringify({ args: a, subtitle, warmUpSeconds, verdict, grown: mapsAtJudge !== null && mapsLast !== null ? growth(mapsAtJudge, mapsLast) : [], samples }, null, 2)}\n`);
  writeFileSync(join(out, 'soak.svg'), renderSoakSvg(samples, verdict, subtitle));
  const grown = mapsAtJudge !== null && mapsLast !== null ? growth(mapsAtJudge, mapsLast) : [];
  writeFileSync(join(out, 'soak.md'), report(a, samples, verdict, subtitle, grown, a.freshNames ? undefined : warmUpSeconds));
  process.stdout.write(`soak: ${verdict.ok ? 'passed' : `FAILED: ${verdict.failures.join('; ')}`}\nsoak: RSS ${verdict.rssSlope.toFixed(2)} MB/min, heap ${verdict.heapSlope.toFixed(2)} MB/min over the second half; p99 ${verdict.p99Early.toFixed(1)} -> ${verdict.p99Late.toFixed(1)} ms\nsoak: wrote ${join(out, 'soak.json')}, soak.svg, soak.md\n`);
  return verdict.ok ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
