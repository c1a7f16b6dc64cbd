// A gateway in front of the ringstore daemon (the reference's samples/GatewayClient):
// it creates orders and appends them to the central stream `gateway/orders`.
//
//   EVENTSTORE_URL=http://127.0.0.1:7070 GATEWAY_ID=gw-1 PORT=8081 node docs/examples/gateways/gateway.mjs
//
// Routes: GET /health, POST /orders, POST /orders/bulk?n= (bounded concurrency), GET /stats/local,
// GET /stats/global. It prints one JSON line {"msg":"listening",...} once it listens.
import { randomInt, randomUUID } from 'node:crypto';
import http from 'node:http';
import { RingstoreClient } from '../../../dist/src/client/index.js';

const STREAM = 'gateway/orders';
const MAX_BULK = 100_000;
const CONCURRENCY = Number(process.env.GATEWAY_CONCURRENCY ?? 32);

const central = process.env.EVENTSTORE_URL;
if (!central) {
  process.stderr.write('gateway: EVENTSTORE_URL is required (e.g. http://127.0.0.1:7070)\n');
  process.exit(2);
}
const gatewayId = process.env.GATEWAY_ID ?? randomUUID().replaceAll('-', '');
const client = new RingstoreClient({ baseUrl: central, token: process.env.EVENTSTORE_TOKEN || undefined, retries: 5 });
let sent = 0;

/** Creates one order and appends it; the order id makes the append idempotent, so the client may retry it. */
async function createOrder() {
  const order = { id: `${gatewayId}-${randomUUID()}`, valor: randomInt(1, 5000), timestamp: new Date().toISOString(), gatewayId };
  await client.append(STREAM, order);
  sent++;
  return order;
}

/** Runs `n` order creations, at most CONCURRENCY at a time; resolves with how many succeeded. */
async function bulk(n) {
  let next = 0;
  let succeeded = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        await createOrder();
        succeeded++;
      } catch {
        /* counted as not succeeded */
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  return succeeded;
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  req.resume();
  const url = new URL(req.url ?? '/', 'http://gateway');
  try {
    if (req.method === 'GET' && url.pathname === '/health') return reply(res, 200, { gatewayId, status: 'OK' });
    if (req.method === 'GET' && url.pathname === '/stats/local') return reply(res, 200, { gatewayId, sent });
    if (req.method === 'GET' && url.pathname === '/stats/global') return reply(res, 200, await client.aggregate(STREAM));
    if (req.method === 'POST' && url.pathname === '/orders') return reply(res, 202, await createOrder());
    if (req.method === 'POST' && url.pathname === '/orders/bulk') {
      const raw = url.searchParams.get('n');
      const n = raw !== null && /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > MAX_BULK) return reply(res, 400, { error: { code: 'BAD_REQUEST', message: `n must be an integer in [1, ${MAX_BULK}]` } });
      return reply(res, 200, { requested: n, succeeded: await bulk(n) });
    }
    reply(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` } });
  } catch (err) {
    reply(res, 502, { error: { code: err.code ?? 'UPSTREAM', message: `central store: ${err.message}` } });
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', gatewayId, url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => server.close(() => process.exit(0)));
