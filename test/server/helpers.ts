// Shared helpers of the daemon tests: an in-process daemon on a free loopback port.
import { RingstoreClient } from '../../dist/src/client/index.js';
import { resolveConfig, startServer, type RunningServer, type ServerConfig } from '../../dist/src/server/index.js';

export interface TestDaemon {
  server: RunningServer;
  client: RingstoreClient;
  url: string;
  close(): Promise<void>;
}

/** Starts a daemon on 127.0.0.1:0 with small stores and silent logs. */
export async function startDaemon(overrides: Partial<ServerConfig> = {}, clientToken?: string): Promise<TestDaemon> {
  const server = await startServer(resolveConfig({ port: 0, partitions: 2, capacity: 4096, logLevel: 'silent', ...overrides }));
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
