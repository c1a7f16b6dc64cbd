// The gateway scenario: 1 ringstore daemon, 3 gateways, 1 load balancer (nginx with least_conn when it is
// installed, else proxy.mjs), bulk orders through the balancer, then a check that the gateways' local
// counts add up to the global count in the daemon, with nothing lost.
//
//   npm run build && node docs/examples/gateways/run.mjs [--lb auto|nginx|node] [--bulk 6] [--n 300]
//
// Prints one JSON summary line; exits 0 when the counts match, 1 otherwise.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy } from './proxy.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const MAIN = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const LB = arg('lb', 'auto');
const BULK = Number(arg('bulk', '6'));
const N = Number(arg('n', '300'));
const SINGLES = Number(arg('singles', '30'));

const children = [];
const log = (msg, extra = {}) => process.stderr.write(`${JSON.stringify({ msg, ...extra })}\n`);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start(name, args, env = {}) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  children.push({ name, child, exited });
  return { child, exited };
}

async function waitFor(url, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function getJson(url, init) {
  const r = await fetch(url, init);
  const body = await r.json();
  return { status: r.status, body };
}

async function startNginx(gateways) {
  const dir = mkdtempSync(join(tmpdir(), 'rs-nginx-'));
  mkdirSync(join(dir, 'tmp'));
  const port = await freePort();
  const conf = readFileSync(join(here, 'nginx.conf'), 'utf8')
    .replace(/(\n\s*server 127\.0\.0\.1:\d+;)+/, gateways.map((g) => `\n    server ${new URL(g).host};`).join(''))
    .replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${port};`);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/health`);
  return { url, kind: 'nginx', counts: () => null, close: async () => { child.kill('SIGQUIT'); await exited; rmSync(dir, { recursive: true, force: true }); } };
}

async function main() {
  // 1. the daemon
  const daemonPort = await freePort();
  const daemon = start('daemon', [MAIN, 'serve', '--port', String(daemonPort), '--partitions', '2', '--log-level', 'warn']);
  daemon.child.stdout.resume();
  const central = `http://127.0.0.1:${daemonPort}`;
  await waitFor(`${central}/ready`);

  // 2. three gateways
  const gateways = [];
  for (let i = 1; i <= 3; i++) {
    const port = await freePort();
    const g = start(`gateway-${i}`, [join(here, 'gateway.mjs')], { EVENTSTORE_URL: central, GATEWAY_ID: `gw-${i}`, PORT: String(port) });
    g.child.stdout.resume();
    gateways.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(gateways.map((g) => waitFor(`${g}/health`)));

  // 3. the load balancer
  const hasNginx = spawnSync('nginx', ['-v']).status === 0;
  if (LB === 'nginx' && !hasNginx) throw new Error('--lb nginx but nginx is not installed');
  const lb = LB === 'nginx' || (LB === 'auto' && hasNginx) ? await startNginx(gateways) : { kind: 'node', ...(await startProxy({ upstreams: gateways.map((g) => new URL(g).host) })) };
  log('started', { central, gateways, lb: lb.kind, url: lb.url });

  // 4. traffic through the balancer: concurrent bulk requests plus single orders; invalid n is refused
  const t0 = performance.now();
  const bulks = Array.from({ length: BULK }, () => getJson(`${lb.url}/orders/bulk?n=${N}`, { method: 'POST' }));
  const singles = Array.from({ length: SINGLES }, () => getJson(`${lb.url}/orders`, { method: 'POST' }));
  const [bulkResults, singleResults] = await Promise.all([Promise.all(bulks), Promise.all(singles)]);
  const ms = performance.now() - t0;
  const refused = await Promise.all(['-1', '0', 'abc', '100000000000'].map((n) => getJson(`${lb.url}/orders/bulk?n=${n}`, { method: 'POST' }).then((r) => r.status)));
  const requested = BULK * N + SINGLES;
  const succeeded = bulkResults.reduce((a, r) => a + r.body.succeeded, 0) + singleResults.filter((r) => r.status === 202).length;

  // 5. the check: Σ local == global, per gateway and in total, and == what succeeded
  const locals = await Promise.all(gateways.map((g) => getJson(`${g}/stats/local`).then((r) => r.body)));
  const global = (await getJson(`${lb.url}/stats/global`)).body;
  const sumLocal = locals.reduce((a, l) => a + l.sent, 0);
  const perGateway = locals.every((l) => (global.gateways[l.gatewayId]?.count ?? 0) === l.sent);
  const ok = sumLocal === global.totalEvents && perGateway && succeeded === requested && sumLocal === requested && refused.every((s) => s === 400);
  const summary = { ok, lb: lb.kind, requested, succeeded, sumLocal, globalTotal: global.totalEvents, perGateway, locals, refusedStatuses: refused, ordersPerSecond: Math.round((requested / ms) * 1000), lbCounts: lb.counts() };
  process.stdout.write(`${JSON.stringify(summary)}\n`);

  // 6. stop everything: the daemon must exit 0 on SIGTERM
  await lb.close();
  for (const c of children) c.child.kill('SIGTERM');
  const codes = await Promise.all(children.map((c) => c.exited));
  if (codes.some((c) => c !== 0)) {
    log('a process did not exit cleanly', { codes });
    return 1;
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log('failed', { error: String(err?.stack ?? err) });
    for (const c of children) c.child.kill('SIGKILL');
    process.exit(1);
  },
);
