/**
 * `node dist/bench/soak/subscribers.js [--subscribers 500] [--streams 50] [--idle-seconds 20] [--rounds 10]`:
 * the cost of SSE subscribers to a daemon (a child process). Measures the
 * daemon's CPU time while the subscribers are idle (per subscriber and
 * second), then while `--rounds` rounds of one POST per stream are sent
 * 500 ms apart: its CPU time, the /health latency (p50, p99, max, probed
 * every 20 ms over its own connection) and the events every subscriber
 * received. The same run with no subscriber comes first, as the baseline
 * (on this shared machine /health p99 moves with the load of others). Prints
 * one JSON line per run; run it before and after a change and compare.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { freePort } from '../harness/redis.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const SUBSCRIBERS = arg('subscribers', 500);
const STREAMS = arg('streams', 50);
const IDLE_S = arg('idle-seconds', 20);
const ROUNDS = arg('rounds', 10);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/** User + system CPU seconds of a process so far, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function run(subscribers: number): Promise<void> {
  const port = await freePort();
  const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [mainJs, 'serve', '--port', String(port), '--log-level', 'warn', '--partitions', '2', '--capacity', '65536', '--max-connections', '5000'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch { /* not yet */ }
      if (i > 300) throw new Error('no daemon');
      await sleep(100);
    }
    const pid = child.pid!;
    const events = new Array<number>(subscribers).fill(0);
    const reqs: http.ClientRequest[] = [];
    await Promise.all(Array.from({ length: subscribers }, (_, i) => new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/streams/bench/s${i % STREAMS}/subscribe`, agent: false }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          events[i] += (c.match(/^event: event$/gm) ?? []).length;
        });
        resolve();
      });
      req.on('error', () => resolve());
      reqs.push(req);
    })));
    await sleep(1000);
    const c0 = cpuSeconds(pid);
    await sleep(IDLE_S * 1000);
    const idleCpu = cpuSeconds(pid) - c0;

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ms: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t0 = performance.now();
        await new Promise<void>((resolve) => http.get({ host: '127.0.0.1', port, path: '/health', agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', () => resolve()));
        ms.push(performance.now() - t0);
        await sleep(20);
      }
    })();
    const c1 = cpuSeconds(pid);
    const t1 = performance.now();
    for (let k = 0; k < ROUNDS; k++) {
      await Promise.all(Array.from({ length: STREAMS }, (_, s) => fetch(`${url}/streams/bench/s${s}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ valor: k }) }).then((r) => r.text())));
      await sleep(500);
    }
    await sleep(500);
    probing = false;
    await probe;
    const busyCpu = cpuSeconds(pid) - c1;
    const busyS = (performance.now() - t1) / 1000;
    for (const r of reqs) r.destroy();
    agent.destroy();
    process.stdout.write(`${JSON.stringify({
      subscribers, streams: STREAMS,
      idleCpuMsPerSubscriberPerS: subscribers === 0 ? null : (idleCpu * 1000) / subscribers / IDLE_S,
      idleCpuPercent: (idleCpu / IDLE_S) * 100,
      busyCpuPercent: (busyCpu / busyS) * 100,
      healthP50: quantile(ms, 0.5), healthP99: quantile(ms, 0.99), healthMax: Math.max(...ms), probes: ms.length,
      minEventsPerSubscriber: subscribers === 0 ? null : Math.min(...events), expected: ROUNDS,
      loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    })}\n`);
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  for (const n of [0, SUBSCRIBERS]) await run(n);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
