/**
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting, end SSE subscriptions,
 * let in-flight requests finish (up to `shutdownTimeoutMs`, then close the
 * remaining connections), close the stores, resolve with the exit code (0).
 * A second signal, or stores that do not close within 5 more seconds, gives 1.
 */
import type { RunningServer } from './app.js';

const STORE_CLOSE_MS = 5_000;

/**
 * Installs the signal handlers; resolves with the process exit code once the
 * server is closed. `signals` is injectable for tests.
 */
export function onShutdownSignal(server: RunningServer, timeoutMs: number, signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<number> {
  return new Promise((resolve) => {
    let started = false;
    const handler = (signal: NodeJS.Signals): void => {
      const log = server.context.log;
      if (started) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      started = true;
      log.info({ signal, timeoutMs }, 'shutting down: finishing in-flight requests');
      const t0 = Date.now();
      const force = setTimeout(() => {
        log.warn({ timeoutMs }, 'shutdown timeout: closing the remaining connections');
        server.app.server.closeAllConnections();
      }, timeoutMs);
      force.unref();
      const hard = setTimeout(() => {
        log.error('stores did not close in time: exiting');
        resolve(1);
      }, timeoutMs + STORE_CLOSE_MS);
      hard.unref();
      server.close().then(
        () => {
          clearTimeout(force);
          clearTimeout(hard);
          log.info({ ms: Date.now() - t0 }, 'stopped');
          for (const s of signals) process.off(s, handler);
          resolve(0);
        },
        (err: unknown) => {
          clearTimeout(force);
          clearTimeout(hard);
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    for (const s of signals) process.on(s, handler);
  });
}
