/**
 * The daemon's listener while its durable stores restore (`--data-dir`).
 *
 * Restoring a large log takes seconds, and an orchestrator that finds the port
 * closed for that long takes the process for dead. So the port opens at once
 * on this small server: `GET /health` answers 200 (the process is alive),
 * `GET /ready` and everything else 503 `RS_ERR_NOT_READY` with `Retry-After`
 * (it is not ready). Every answer closes its connection, so that clients
 * reconnect to the full daemon, which listens on the same port once the gate
 * has closed (a connection attempt in that gap of a few milliseconds is
 * refused, which a client retrying readiness takes as "not ready").
 */
import http from 'node:http';
import type { ServerConfig } from './config.js';

/** The gate of a starting daemon. */
export interface StartupGate {
  /** The bound port (the daemon listens on it next; useful with port 0). */
  readonly port: number;
  /** Stops listening and closes the gate's connections. */
  close(): Promise<void>;
}

const NOT_READY = JSON.stringify({
  error: { code: 'RS_ERR_NOT_READY', message: 'the daemon is restoring its durable stores or catching up with its JetStream logs; retry when GET /ready answers 200' },
});

/** Listens on `config.host:config.port` with the gate's answers. */
export async function openStartupGate(config: ServerConfig): Promise<StartupGate> {
  const server = http.createServer({ requireHostHeader: false, headersTimeout: config.headersTimeoutMs, requestTimeout: config.bodyTimeoutMs }, (req, res) => {
    req.resume(); // a body is read and dropped, so that the client reads the answer
    const path = (req.url ?? '').split('?')[0];
    const alive = path === '/health' && (req.method === 'GET' || req.method === 'HEAD');
    const body = alive ? '"OK"' : NOT_READY;
    res.writeHead(alive ? 200 : 503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
      ...(alive ? {} : { 'retry-after': '1' }),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.maxConnections = config.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
