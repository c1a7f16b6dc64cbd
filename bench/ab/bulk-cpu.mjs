// CPU A/B (docs/benchmarks/daemon.md, "Bulk path on the main thread"): 100-event JSON-array and NDJSON POSTs to
// /streams/bench/<0..15> under autocannon (16 connections, no pipelining, the daemon scenario's events), against
// `ringstore serve --log-level warn --ingest-threads 0` of this build and of another build (BASE=<its dist directory>,
// e.g. main's), and the bare node:http parse+push peer (JSON array), in alternating rounds. Bodies come from a pool
// of 256 made up front (the load generator shares the machine). Prints events/s and CPU µs per event of each
// server's main thread and whole process (/proc schedstat, ns).
// npm run build && BASE=/tmp/base-bulk/dist node bench/ab/bulk-cpu.mjs [rounds=5] [seconds=3] [connections=16]
// FORMATS=array|ndjson: the daemons get only that body. PROF=<dir>: this build's daemon runs under node --cpu-prof (profiles written into <dir> when it stops).
// THREADS=n: the daemons run with --ingest-threads n (default 0: the main thread appends).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { freePort } from '../../dist/bench/harness/redis.js';
import { event } from '../../dist/bench/harness/scenarios/daemon.js';

const here = new URL('../../dist', import.meta.url).pathname;
const [rounds, seconds, connections] = [Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 3), Number(process.argv[4] ?? 16)];
const BATCH = 100;
const { default: autocannon } = await import('autocannon');

const serve = (port) => ['serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn', '--ingest-threads', process.env.THREADS ?? '0'];
const targets = [['bare', `${here}/bench/harness/scenarios/http-peers.js`, (port) => ['bare', String(port)]], ['this', `${here}/src/cli/main.js`, serve]];
if (process.env.BASE) targets.push(['base', `${process.env.BASE}/src/cli/main.js`, serve]);

const events = (i) => Array.from({ length: BATCH }, (_, j) => event(i * BATCH + j));
const bodies = {
  array: Array.from({ length: 256 }, (_, i) => JSON.stringify(events(i))),
  ndjson: Array.from({ length: 256 }, (_, i) => `${events(i).map((e) => JSON.stringify(e)).join('\n')}\n`),
};
const types = { array: 'application/json', ndjson: 'application/x-ndjson' };
const requests = (format) => {
  let n = 0;
  return [{
    method: 'POST', path: '/streams/bench/0', headers: { 'content-type': types[format] },
    setupRequest: (req) => {
      n++;
      return { ...req, path: `/streams/bench/${n % 16}`, body: bodies[format][n % 256] };
    },
  }];
};

const ns = (file) => Number(readFileSync(file, 'utf8').split(' ')[0]);
function cpu(pid) {
  let proc = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { proc += ns(`/proc/${pid}/task/${t}/schedstat`); } catch { /* ended */ }
  }
  return { main: ns(`/proc/${pid}/task/${pid}/schedstat`), proc };
}

const servers = {};
for (const [name, main, args] of targets) {
  const port = await freePort();
  const prof = process.env.PROF && name === 'this' ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROF] : [];
  const child = spawn(process.execPath, [...prof, main, ...args(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { await fetch(`${url}/streams/bench/0`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }); break; } catch { /* not yet */ }
    if (i > 300) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  servers[name] = { url, child };
}
const run = async (name, format) => {
  const s = servers[name];
  const c0 = cpu(s.child.pid);
  const r = await autocannon({ url: s.url, requests: requests(format), connections, duration: seconds, pipelining: 1 });
  const c1 = cpu(s.child.pid);
  const n = (r.requests.total - r.non2xx - r.errors - r.timeouts) * BATCH;
  return { eps: n / seconds, main: (c1.main - c0.main) / 1000 / n, proc: (c1.proc - c0.proc) / 1000 / n, bad: r.non2xx + r.errors };
};
// The bare peer takes JSON arrays only (its body is one JSON.parse).
// FORMATS=array or FORMATS=ndjson: the daemons take only that body (for profiles).
const formats = (process.env.FORMATS ?? 'array,ndjson').split(',');
const cells = targets.flatMap(([name]) => (name === 'bare' ? ['array'] : formats).map((format) => `${name} ${format}`));
try {
  for (const cell of cells) await run(...cell.split(' ')); // warm-up
  const rows = Object.fromEntries(cells.map((c) => [c, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? cells : [...cells].reverse();
    const line = [];
    for (const cell of order) {
      const r = await run(...cell.split(' '));
      rows[cell].push(r);
      line.push(`${cell} ${Math.round(r.eps / 1000)}k ev/s main ${r.main.toFixed(2)} proc ${r.proc.toFixed(2)}${r.bad ? ` bad ${r.bad}` : ''}`);
    }
    console.log(`round ${round + 1} load ${loadavg()[0].toFixed(1)}: ${line.join(' | ')}`);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const bare = med(rows['bare array'].map((r) => r.main));
  for (const cell of cells) {
    const rs = rows[cell];
    const main = med(rs.map((r) => r.main));
    console.log(`median ${cell}: ${Math.round(med(rs.map((r) => r.eps)))} events/s, main ${main.toFixed(2)} µs/event (${(main / bare).toFixed(2)}x bare), process ${med(rs.map((r) => r.proc)).toFixed(2)} µs/event; main per round ${rs.map((r) => r.main.toFixed(2)).join(' ')}`);
  }
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
}
