// A small least-connections HTTP load balancer: what nginx's `least_conn` does, for machines without nginx.
//
//   node docs/examples/gateways/proxy.mjs 8080 127.0.0.1:8081 127.0.0.1:8082 127.0.0.1:8083
import http from 'node:http';
import { pathToFileURL } from 'node:url';

/**
 * Starts the balancer on 127.0.0.1:`port` (0 = any). Each request goes to the upstream with the fewest
 * requests in flight (ties: round robin). An upstream that cannot be reached gives 502.
 * Resolves with `{ url, counts, close }`.
 */
export function startProxy({ upstreams, port = 0 }) {
  const pool = upstreams.map((u) => {
    const [host, p] = u.replace(/^https?:\/\//, '').split(':');
    return { host, port: Number(p), active: 0, served: 0 };
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let rr = 0;
  const pick = () => {
    let best;
    for (let i = 0; i < pool.length; i++) {
      const u = pool[(rr + i) % pool.length];
      if (best === undefined || u.active < best.active) best = u;
    }
    rr = (rr + 1) % pool.length;
    return best;
  };
  const server = http.createServer((req, res) => {
    const u = pick();
    u.active++;
    u.served++;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        u.active--;
      }
    };
    const up = http.request({ host: u.host, port: u.port, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' }, agent }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
      ur.on('end', finish);
    });
    up.on('error', (err) => {
      finish();
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'BAD_GATEWAY', message: err.message } }));
    });
    res.on('close', finish);
    req.pipe(up);
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        counts: () => pool.map((u) => ({ upstream: `${u.host}:${u.port}`, served: u.served })),
        close: () => new Promise((r) => { agent.destroy(); server.closeAllConnections(); server.close(r); }),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [port, ...upstreams] = process.argv.slice(2);
  if (!port || upstreams.length === 0) {
    process.stderr.write('usage: node proxy.mjs <port> <host:port>...\n');
    process.exit(2);
  }
  const p = await startProxy({ upstreams, port: Number(port) });
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: p.url, upstreams })}\n`);
}
