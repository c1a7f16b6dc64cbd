// Shared helpers of the daemon tests: an in-process daemon on a free loopback port.
import { pino, type Logger } from 'pino';
import { RingstoreClient } from '../../dist/src/client/index.js';
import { resolveConfig, startServer, type RunningServer, type ServerConfig } from '../../dist/src/server/index.js';

export interface TestDaemon {
  server: RunningServer;
  client: RingstoreClient;
  url: string;
  close(): Promise<void>;
}

/** Starts a daemon on 127.0.0.1:0 with small stores and silent logs. */
export async function startDaemon(overrides: Partial<ServerConfig> = {}, clientToken?: string, logger?: Logger): Promise<TestDaemon> {
  const server = await startServer(resolveConfig({ port: 0, partitions: 2, capacity: 4096, logLevel: 'silent', ...overrides }), logger !== undefined ? { logger } : {});
  const client = new RingstoreClient({ baseUrl: server.url, retries: 0, ...(clientToken !== undefined ? { token: clientToken } : overrides.token !== undefined ? { token: overrides.token } : {}) });
  return { server, client, url: server.url, close: () => server.close() };
}

/** A raw request: status, parsed JSON (or text) body and headers. */
export async function raw(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* text */ }
  return { status: res.status, body, headers: res.headers };
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** A daemon's log kept in memory (pino JSON lines), to print when a test fails. */
export interface CapturedLog {
  readonly logger: Logger;
  readonly lines: string[];
  /** The lines, one per line, prefixed with `label`. */
  dump(label: string): string;
}

/**
 * A pino logger at `level` whose lines are kept (at most `max`, the oldest dropped). Lines for which `keep`
 * is false are counted, not kept (e.g. the access line of every successful request under load).
 */
export function captureLog(level = 'info', keep: (line: { msg?: string; statusCode?: number; ms?: number }) => boolean = () => true, max = 20_000): CapturedLog {
  const lines: string[] = [];
  let dropped = 0;
  const stream = {
    write(chunk: string): void {
      const line = chunk.trimEnd();
      let parsed: { msg?: string; statusCode?: number; ms?: number } = {};
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch { /* kept as is */ }
      if (!keep(parsed)) {
        dropped++;
        return;
      }
      lines.push(line);
      if (lines.length > max) lines.shift();
    },
  };
  const logger = pino({ level, base: { name: 'ringstore' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  return { logger, lines, dump: (label) => [`--- ${label}: ${lines.length} lines (${dropped} not kept) ---`, ...lines.map((l) => `${label} ${l}`)].join('\n') };
}
