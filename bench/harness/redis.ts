/**
 * The Redis Streams peer: when a `redis-server` binary is on the PATH, the
 * harness starts its own instance on a free loopback port (no persistence,
 * unless a scenario asks for its own with `appendonly`),
 * talks to it with ioredis, and stops it at the end of the run. When there is
 * no binary (or ioredis is not installed), every Redis case is reported as
 * skipped, with the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Redis as RedisClient } from 'ioredis';
import { importOptional } from './optional.js';

export interface RedisPeer {
  client: RedisClient;
  port: number;
  version: string;
  stop(): Promise<void>;
}

/** First executable `name` on `pathEnv` (the PATH variable), or null. */
export function findBinary(name: string, pathEnv: string = process.env.PATH ?? ''): string | null {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export const NO_REDIS_SERVER = 'no redis-server binary on PATH';

/**
 * Starts redis-server and connects; the skip reason when the binary or ioredis
 * is missing. Throws when it exists but fails to start.
 */
export async function startRedis(bin: string | null = findBinary('redis-server'), persistence: string[] = ['--save', '', '--appendonly', 'no']): Promise<RedisPeer | string> {
  if (bin === null) return NO_REDIS_SERVER;
  const ioredis = await importOptional<typeof import('ioredis')>('ioredis');
  if (typeof ioredis === 'string') return ioredis;
  const { Redis } = ioredis;
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', ...persistence, '--protected-mode', 'yes'], {
    stdio: 'ignore',
  });
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  // Connection errors while redis-server starts reject connect() below; without a listener ioredis also prints them.
  client.on('error', () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      client.disconnect();
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`redis-server (${bin}) did not answer on 127.0.0.1:${port}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const info = await client.info('server');
  const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
  return {
    client,
    port,
    version,
    async stop() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

/** Starts Redis at most once per run, on first use; `stop()` at the end of the run. */
export class RedisManager {
  #peer: Promise<RedisPeer | string> | null = null;
  constructor(private readonly bin: string | null = findBinary('redis-server')) {}

  /** The running peer, or why there is none. */
  get(): Promise<RedisPeer | string> {
    this.#peer ??= startRedis(this.bin);
    return this.#peer;
  }

  async stop(): Promise<void> {
    if (this.#peer === null) return;
    const p = await this.#peer.catch(() => null);
    this.#peer = null;
    if (p !== null && typeof p !== 'string') await p.stop();
  }
}
