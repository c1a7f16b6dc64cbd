/**
 * `ringstore serve`: the HTTP daemon (docs/daemon.md). Flags and `RINGSTORE_*`
 * environment variables are listed by `ringstore serve --help`.
 */
import { ConfigError, helpText, onShutdownSignal, parseConfig, startServer } from '../server/index.js';

/** CLI entry: runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  let config;
  try {
    config = parseConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ringstore serve: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  let server;
  try {
    server = await startServer(config);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`ringstore serve: cannot start: ${e.code ?? ''} ${e.message ?? String(err)}\n`);
    return 1;
  }
  const code = await onShutdownSignal(server, config.shutdownTimeoutMs);
  // Everything is closed and pino writes synchronously: exit now rather than
  // wait for timers of closed stores to lapse.
  process.exit(code);
}
