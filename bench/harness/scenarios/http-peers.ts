/**
 * The daemon scenario's peer servers, each run in its own process:
 * `node http-peers.js bare|fastify <port>`. Both parse the JSON body, push the
 * events into an array, count versions per stream and answer the daemon's
 * result shape; `bare` on node:http, `fastify` as a minimal fastify app (no
 * hooks, schemas or logger: the framework's own floor). Prints `ready` once
 * listening; exits on SIGTERM.
 */
import http from 'node:http';

/** The peers' store: push into an array, count versions per stream, answer like the daemon. */
class ArrayPeer {
  readonly #events: unknown[] = [];
  readonly #versions = new Map<string, number>();

  append(stream: string, body: unknown): unknown {
    const list = Array.isArray(body) ? body : [body];
    const out = list.map((e) => {
      this.#events.push(e);
      const version = (this.#versions.get(stream) ?? 0) + 1;
      this.#versions.set(stream, version);
      return { id: String(this.#events.length), partition: 0, position: this.#events.length, version, duplicate: false };
    });
    if (this.#events.length > 5_000_000) this.#events.length = 0; // bounded, like the ring
    return Array.isArray(body) ? out : out[0];
  }
}

function bare(port: number): Promise<void> {
  const peer = new ArrayPeer();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/streams/')) {
        res.writeHead(404).end();
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":"RS_ERR_INVALID_JSON","message":"bad json"}}');
        return;
      }
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify(peer.append(req.url.slice('/streams/'.length), body)));
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

async function minimalFastify(port: number): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  const peer = new ArrayPeer();
  app.post('/streams/*', async (request, reply) => {
    reply.code(202);
    return peer.append((request.params as { '*': string })['*'], request.body);
  });
  await app.listen({ port, host: '127.0.0.1' });
}

const [kind, port] = process.argv.slice(2);
if (kind !== 'bare' && kind !== 'fastify') throw new Error('usage: node http-peers.js bare|fastify <port>');
process.on('SIGTERM', () => process.exit(0));
await (kind === 'bare' ? bare(Number(port)) : minimalFastify(Number(port)));
process.stdout.write('ready\n');
