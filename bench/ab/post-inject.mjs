// CPU A/B (docs/benchmarks/daemon.md) of the daemon's own single-event POST path, without sockets: fastify's
// inject() of POST /streams/bench/<0..15> (the daemon scenario's bodies), 50 in flight, into buildApp() of this build
// and of another (BASE=<its dist directory>, e.g. main's) in ONE process, in short alternating bursts, so that other
// tenants' load drifts over both alike. Prints the main thread's CPU µs per request (/proc schedstat, ns) per build,
// and the median over burst pairs of this build's over the other's. inject() costs the same in both.
// npm run build && BASE=/tmp/base/dist node bench/ab/post-inject.mjs [pairs=30] [requests per burst=2000]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const here = new URL('../../dist', import.meta.url).pathname;
const [pairs, burst] = [Number(process.argv[2] ?? 30), Number(process.argv[3] ?? 2000)];
const { event } = await import(`${here}/bench/harness/scenarios/daemon.js`);
const mainNs = () => Number(readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);

const builds = [];
for (const [name, dist] of [['this', here], ...(process.env.BASE ? [['base', process.env.BASE]] : [])]) {
  // inject()'s request has no `complete` flag, which a socket's request whose body was read has (connections.ts
  // would otherwise treat every injected request as answered before its body arrived).
  const Request = createRequire(`${dist}/../package.json`)('light-my-request/lib/request.js');
  Object.defineProperty(Request.prototype, 'complete', { get: () => true, configurable: true });
  const { buildApp, resolveConfig } = await import(`${dist}/src/server/index.js`);
  builds.push({ name, built: await buildApp(resolveConfig({ logLevel: 'warn', host: '127.0.0.1', port: 0 })), us: [] });
}
let n = 0;
let bad = 0;
const run = async (app, total) => {
  const one = async (count) => {
    for (let i = 0; i < count; i++) {
      n++;
      const r = await app.inject({ method: 'POST', url: `/streams/bench/${n % 16}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(event(n)) });
      if (r.statusCode !== 202) bad++;
    }
  };
  await Promise.all(Array.from({ length: 50 }, () => one(total / 50)));
};
try {
  for (const b of builds) await run(b.built.app, 10_000); // warm-up
  for (let p = 0; p < pairs; p++) {
    for (const b of p % 2 === 0 ? builds : [...builds].reverse()) {
      const c0 = mainNs();
      await run(b.built.app, burst);
      b.us.push((mainNs() - c0) / 1000 / burst);
    }
  }
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
  for (const b of builds) console.log(`${b.name}: main thread ${med(b.us).toFixed(2)} µs/request (median of ${pairs} bursts of ${burst}; quartiles ${[...b.us].sort((x, y) => x - y)[pairs >> 2].toFixed(2)}-${[...b.us].sort((x, y) => x - y)[(3 * pairs) >> 2].toFixed(2)})`);
  if (builds.length === 2) console.log(`this / base, median of burst pairs: ${med(builds[0].us.map((u, i) => u / builds[1].us[i])).toFixed(3)}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}${bad ? `; ${bad} not 202` : ''}`);
} finally {
  for (const b of builds) await b.built.close();
}
