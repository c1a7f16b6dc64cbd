// Raw HTTP/1.1 over a TCP socket, for what fetch will not send: partial requests, trickled bodies, broken framing,
// many idle connections. Responses are parsed as they arrive (Content-Length and chunked bodies).
import { spawn } from 'node:child_process';
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON, or undefined. */
  json: any;
}

/** One client connection: what it received, parsed, and when it closed. */
export class RawConnection {
  readonly socket: net.Socket;
  readonly opened = Date.now();
  /** ms after opening at which the socket closed (undefined while open). */
  closedAfter: number | undefined;
  /** Error code of the socket (ECONNRESET, EPIPE...), if any. */
  error: string | undefined;
  readonly responses: RawResponse[] = [];
  #buf = Buffer.alloc(0);
  /** The SSE answer being received: every later byte belongs to its body. */
  #sse: RawResponse | undefined;
  /** Responses still to come that have no body whatever their headers say (answers to HEAD). */
  #bodiless = 0;
  readonly #closed: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(port: number, host = '127.0.0.1') {
    this.socket = net.connect(port, host);
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      this.#parse();
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.error ??= err.code ?? err.message;
    });
    this.#closed = new Promise((resolve) => this.socket.on('close', () => {
      this.closedAfter = Date.now() - this.opened;
      this.#wake();
      resolve();
    }));
  }

  /** Resolves once connected. */
  ready(): Promise<this> {
    if (!this.socket.connecting) return Promise.resolve(this);
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve(this));
      this.socket.once('error', reject);
    });
  }

  /** Writes bytes; resolves when they are handed to the kernel (false when the socket failed). */
  write(data: string | Buffer): Promise<boolean> {
    if (this.socket.destroyed || this.socket.writableEnded) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(data, (err) => resolve(err == null)));
  }

  /** Waits for the n-th response (1-based), or undefined when the socket closes first or after `timeoutMs`. */
  async response(n = 1, timeoutMs = 5000): Promise<RawResponse | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < n && this.closedAfter === undefined && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.responses[n - 1];
  }

  /** Resolves when the socket closed, or after `timeoutMs` (then `closedAfter` is undefined). */
  async closed(timeoutMs = 5000): Promise<number | undefined> {
    await Promise.race([this.#closed, new Promise((r) => setTimeout(r, timeoutMs))]);
    return this.closedAfter;
  }

  /** The next response answers a HEAD: it has no body, whatever its Content-Length says. */
  expectBodiless(): void {
    this.#bodiless++;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #parse(): void {
    if (this.#sse !== undefined) {
      this.#sse.body += this.#buf.toString('utf8');
      this.#buf = Buffer.alloc(0);
      return;
    }
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body: Buffer;
      let rest: Buffer;
      const start = end + 4;
      if (this.#bodiless > 0 || status === 204 || status === 304) {
        if (this.#bodiless > 0) this.#bodiless--;
        body = Buffer.alloc(0);
        rest = this.#buf.subarray(start);
      } else if (headers['content-type']?.startsWith('text/event-stream')) {
        // An SSE answer never ends: it is a response from its headers on, and its bytes (chunk framing and all) are
        // appended to its body as they come.
        const sse: RawResponse = { status, headers, body: this.#buf.subarray(start).toString('utf8'), json: undefined };
        this.responses.push(sse);
        this.#sse = sse;
        this.#buf = Buffer.alloc(0);
        this.#wake();
        return;
      } else if (headers['transfer-encoding']?.includes('chunked')) {
        const parts: Buffer[] = [];
        let at = start;
        for (;;) {
          const nl = this.#buf.indexOf('\r\n', at);
          if (nl < 0) return;
          const size = parseInt(this.#buf.subarray(at, nl).toString('latin1'), 16);
          if (this.#buf.length < nl + 2 + size + 2) return;
          if (size === 0) {
            at = nl + 4;
            break;
          }
          parts.push(this.#buf.subarray(nl + 2, nl + 2 + size));
          at = nl + 2 + size + 2;
        }
        body = Buffer.concat(parts);
        rest = this.#buf.subarray(at);
      } else {
        const length = Number(headers['content-length'] ?? 0);
        if (this.#buf.length < start + length) return;
        body = this.#buf.subarray(start, start + length);
        rest = this.#buf.subarray(start + length);
      }
      const text = body.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch { /* not JSON */ }
      this.responses.push({ status, headers, body: text, json });
      this.#buf = Buffer.from(rest);
      this.#wake();
    }
  }
}

/** Opens a connection and waits until it is established. */
export function rawConnect(port: number): Promise<RawConnection> {
  return new RawConnection(port).ready();
}

/** Sends one raw request on a new connection and returns the first response (undefined when none came). */
export async function rawRequest(port: number, request: string | Buffer, timeoutMs = 5000): Promise<{ response: RawResponse | undefined; conn: RawConnection }> {
  const conn = await rawConnect(port);
  await conn.write(request);
  const response = await conn.response(1, timeoutMs);
  conn.destroy();
  return { response, conn };
}

/** The head of a request: request line, Host, the given headers, blank line. */
export function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  let out = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of Object.entries(headers)) out += `${k}: ${v}\r\n`;
  return `${out}\r\n`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The q-quantile (0..1) of `values` (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// The probe runs in its own process: in the test's process it would also measure the load generator's own delays.
const PROBE = `
import net from 'node:net';
const [port, everyMs, deadlineMs] = process.argv.slice(1).map(Number);
const statuses = [], ms = [];
let running = true;
process.stdin.on('data', () => {}).on('end', () => { running = false; });
let conn, buf = '', waiting;
process.stdout.write('ready\\n');
const connect = () => new Promise((resolve) => {
  buf = '';
  conn = net.connect(port, '127.0.0.1', () => resolve());
  conn.setNoDelay(true);
  conn.on('data', (d) => { buf += d; const m = /^HTTP\\/1\\.1 (\\d{3})[^]*?\\r\\n\\r\\n"OK"/.exec(buf); if (m) { buf = buf.slice(m.index + m[0].length); waiting?.(Number(m[1])); } });
  conn.on('error', () => waiting?.(0));
  conn.on('close', () => { conn = undefined; waiting?.(0); });
});
while (running) {
  const t0 = performance.now();
  if (conn === undefined) await connect();
  const status = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(0), deadlineMs);
    waiting = (s) => { clearTimeout(t); waiting = undefined; resolve(s); };
    conn.write('GET /health HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n');
  });
  if (status === 0) conn?.destroy();
  statuses.push(status);
  ms.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, everyMs));
}
conn?.destroy();
process.stdout.write(JSON.stringify({ statuses, ms }));
`;

/**
 * Sends GET /health every `everyMs` on its own keep-alive connection (a new one if it closes), from a child process,
 * until `stop()`: the statuses (0 when no answer came within `deadlineMs`) and latencies in ms. Await `ready` before the load.
 */
export function probeHealth(port: number, everyMs = 20, deadlineMs = 2000): { ready: Promise<void>; stop: () => Promise<{ statuses: number[]; ms: number[] }> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE, String(port), String(everyMs), String(deadlineMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let started: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.startsWith('ready\n')) started();
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    ready,
    stop: async () => {
      child.stdin.end();
      await exited;
      return JSON.parse(out.slice(out.indexOf('\n') + 1)) as { statuses: number[]; ms: number[] };
    },
  };
}
