/**
 * The daemon over HTTP: POST /streams/<name> with one JSON event, a JSON array
 * batch and NDJSON lines, driven by autocannon, against a bare node:http server
 * that parses the same JSON body and answers 202 (the HTTP floor).
 * Pending while the build has no `src/server/index.js` exporting `startServer`.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Case, Sample, Scenario } from '../types.js';

const SERVER_MODULE = new URL('../../../src/server/index.js', import.meta.url);
const FLOOR = 'floor: bare node:http server, JSON.parse body, 202';

interface ServerModule {
  startServer(config?: unknown): Promise<{ url: string; close(): Promise<void> }>;
  resolveConfig(partial?: Record<string, unknown>): unknown;
}

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; p99_9?: number; max: number };
  duration: number;
  non2xx: number;
  errors: number;
}
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;

async function loadServer(): Promise<ServerModule | string> {
  if (!existsSync(fileURLToPath(SERVER_MODULE))) return 'the daemon (src/server/index.ts) is not in this build yet';
  const mod = (await import(SERVER_MODULE.href)) as Partial<ServerModule>;
  if (typeof mod.startServer !== 'function' || typeof mod.resolveConfig !== 'function') return 'src/server/index.js does not export startServer and resolveConfig yet';
  return mod as ServerModule;
}

const event = (i: number): Record<string, unknown> => ({ valor: (i % 1000) / 10, gatewayId: `gw-${i % 16}`, note: 'bench order' });

export const daemonScenario: Scenario = {
  name: 'daemon',
  title: 'The daemon over HTTP (single, JSON batch, NDJSON)',
  description:
    'autocannon POSTs to /streams/bench on a daemon started in this process on a free loopback port: one JSON event per request, a JSON array batch, and NDJSON lines. ' +
    'Throughput is events per second; latency is per request. The floor is a bare node:http server that parses the same body and answers 202.',
  reference: FLOOR,
  default: true,
  params: {
    seconds: { default: 1.5, help: 'autocannon duration per round, s' },
    connections: { default: 16, help: 'concurrent connections' },
    batch: { default: 100, help: 'events per batch request' },
  },
  async pending() {
    const m = await loadServer();
    return typeof m === 'string' ? m : null;
  },
  async cases(ctx) {
    const seconds = Number(ctx.params.seconds);
    const connections = Number(ctx.params.connections);
    const batch = Number(ctx.params.batch);
    const mod = await loadServer();
    if (typeof mod === 'string') throw new Error(mod);
    const cannonSpec = 'autocannon';
    const cannon = ((await import(cannonSpec)) as { default: Cannon }).default;
    let server: { url: string; close(): Promise<void> };
    let floor: http.Server;
    let floorUrl = '';
    const FLOOR_BATCH = `floor: bare node:http server, JSON array of ${batch}`;
    const single = JSON.stringify(event(1));
    const array = JSON.stringify(Array.from({ length: batch }, (_, i) => event(i)));
    const ndjson = Array.from({ length: batch }, (_, i) => JSON.stringify(event(i))).join('\n');
    const drive = async (url: string, body: string, type: string, perRequest: number): Promise<Sample> => {
      const r = await cannon({ url, method: 'POST', body, headers: { 'content-type': type }, connections, duration: seconds });
      const ms = r.duration * 1000;
      const ok = r.requests.total - r.non2xx - r.errors;
      if (ok <= 0) throw new Error(`no request succeeded (${r.non2xx} non-2xx, ${r.errors} errors)`);
      // autocannon reports latency percentiles per request, in ms; keep them as a 3-point summary.
      return {
        ops: ok * perRequest, ms,
        latencySummary: { count: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, p999: r.latency.p99_9 ?? r.latency.max, max: r.latency.max },
        note: `${r.requests.total} requests per round, ${r.non2xx} non-2xx, ${r.errors} errors; latency per request (autocannon, ms resolution)`,
      };
    };
    const cases: Case[] = [
      {
        name: 'ringstore daemon, 1 JSON event per request', role: 'subject',
        async setup() {
          server = await mod.startServer(mod.resolveConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', partitions: 2 }));
        },
        run: () => drive(`${server.url}/streams/bench-single`, single, 'application/json', 1),
      },
      { name: `ringstore daemon, JSON array of ${batch} per request`, role: 'subject', vs: FLOOR_BATCH, run: () => drive(`${server.url}/streams/bench-array`, array, 'application/json', batch) },
      { name: `ringstore daemon, NDJSON ${batch} lines per request`, role: 'subject', vs: FLOOR_BATCH, run: () => drive(`${server.url}/streams/bench-ndjson`, ndjson, 'application/x-ndjson', batch), teardown: () => server.close() },
    ];
    if (ctx.subjectsOnly) return cases;
    return [
      ...cases,
      {
        name: FLOOR, role: 'floor',
        async setup() {
          floor = http.createServer((req, res) => {
            let body = '';
            req.setEncoding('utf8');
            req.on('data', (c: string) => (body += c));
            req.on('end', () => {
              JSON.parse(body);
              res.writeHead(202, { 'content-type': 'application/json' });
              res.end('{"ok":true}');
            });
          });
          await new Promise<void>((resolve) => floor.listen(0, '127.0.0.1', resolve));
          const a = floor.address();
          floorUrl = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}/`;
        },
        run: () => drive(floorUrl, single, 'application/json', 1),
        teardown: () => new Promise<void>((resolve) => floor.close(() => resolve())),
      },
      { name: FLOOR_BATCH, role: 'floor', vs: FLOOR, run: () => drive(floorUrl, array, 'application/json', batch) },
    ];
  },
};
