// CPU A/B (docs/benchmarks/daemon.md): single-event POST /streams/bench/<0..15> under autocannon (50 connections,
// no pipelining, the daemon scenario's bodies), against `ringstore serve --log-level warn` of this build and of
// another build (BASE=<its dist directory>, e.g. main's), and the bare node:http peer, in alternating rounds.
// Prints req/s and CPU µs per request of each server's main thread and whole process (/proc schedstat, ns), and how
// often per request the main thread was preempted (nonvoluntary context switches: a woken thread or another tenant ran).
// npm run build && BASE=/tmp/base/dist node bench/ab/post-cpu.mjs [rounds=5] [seconds=3] [connections=50]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { freePort } from '../../dist/bench/harness/redis.js';
import { event, rotating } from '../../dist/bench/harness/scenarios/daemon.js';

const here = new URL('../../dist', import.meta.url).pathname;
const [rounds, seconds, connections] = [Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 3), Number(process.argv[4] ?? 50)];
const { default: autocannon } = await import('autocannon');

const targets = [['bare', `${here}/bench/harness/scenarios/http-peers.js`, (port) => ['bare', String(port)]],
  ['this', `${here}/src/cli/main.js`, (port) => ['serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn']]];
if (process.env.BASE) targets.push(['base', `${process.env.BASE}/src/cli/main.js`, (port) => ['serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn']]);

const ns = (file) => Number(readFileSync(file, 'utf8').split(' ')[0]);
function cpu(pid) {
  let proc = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { proc += ns(`/proc/${pid}/task/${t}/schedstat`); } catch { /* ended */ }
  }
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return { main: ns(`/proc/${pid}/task/${pid}/schedstat`), proc, preempted: Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)[1]) };
}

const servers = {};
for (const [name, main, args] of targets) {
  const port = await freePort();
  const child = spawn(process.execPath, [...(process.env.PROF && name === 'this' ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROF] : []), main, ...args(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { await fetch(`${url}/streams/bench/0`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }); break; } catch { /* not yet */ }
    if (i > 300) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  servers[name] = { url, child };
}
const run = async (name) => {
  const s = servers[name];
  const c0 = cpu(s.child.pid);
  const r = await autocannon({ url: s.url, requests: rotating((i) => JSON.stringify(event(i)), 'application/json'), connections, duration: seconds, pipelining: 1 });
  const c1 = cpu(s.child.pid);
  const n = r.requests.total;
  return { rps: n / seconds, main: (c1.main - c0.main) / 1000 / n, proc: (c1.proc - c0.proc) / 1000 / n, preempted: (c1.preempted - c0.preempted) / n, bad: r.non2xx + r.errors };
};
try {
  for (const [name] of targets) await run(name); // warm-up
  const rows = Object.fromEntries(targets.map(([n]) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets.map(([n]) => n) : targets.map(([n]) => n).reverse();
    const line = [];
    for (const name of order) {
      const r = await run(name);
      rows[name].push(r);
      line.push(`${name} ${Math.round(r.rps)} req/s main ${r.main.toFixed(1)} proc ${r.proc.toFixed(1)} µs/req, main preempted ${r.preempted.toFixed(3)}/req${r.bad ? ` bad ${r.bad}` : ''}`);
    }
    console.log(`round ${round + 1} load ${loadavg()[0].toFixed(1)}: ${line.join(' | ')}`);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [name] of targets) {
    const rs = rows[name];
    console.log(`median ${name}: ${Math.round(med(rs.map((r) => r.rps)))} req/s, main ${med(rs.map((r) => r.main)).toFixed(2)} µs/req, process ${med(rs.map((r) => r.proc)).toFixed(2)} µs/req, main thread preempted ${med(rs.map((r) => r.preempted)).toFixed(3)} times/req; x bare req/s per round ${rs.map((r, i) => (r.rps / rows.bare[i].rps).toFixed(2)).join(' ')}`);
  }
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
}
