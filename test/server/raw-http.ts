// Raw HTTP/1.1 over a TCP socket, for what fetch will not send: partial requests, trickled bodies, broken framing,
// many idle connections. Responses are parsed as they arrive (Content-Length and chunked bodies).
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
      } else if (headers['content-type']?.startsWith('text/event-stream')) {
        // An SSE answer never ends: keep the headers as a response and its bytes as they come.
        body = this.#buf.subarray(start);
        rest = Buffer.alloc(0);
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
