/**
 * `ringstore serve`: the HTTP daemon (docs/daemon.md). Flags and `RINGSTORE_*`
 * environment variables are listed by `ringstore serve --help`, which, like a
 * bad flag, needs none of the daemon's packages; starting needs them all
 * (optional peer dependencies: an embedding user does not install them).
 */
import { ConfigError, helpText, parseConfig } from '../server/config.js';
import { DAEMON_PACKAGES, installCommand, missingPackages } from './package-info.js';
import { whenOrphanedUnderNpm } from './parent-watch.js';

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
  const missing = missingPackages(DAEMON_PACKAGES);
  if (missing.length > 0) {
    process.stderr.write(
      `ringstore serve: the daemon needs packages that are not installed: ${missing.join(', ')}.\n` +
        `They are optional peer dependencies of ringstore (an embedded store does not need them). Install them with:\n\n` +
        `  ${installCommand(DAEMON_PACKAGES)}\n`,
    );
    return 1;
  }
  const { onShutdownSignal, startServer } = await import('../server/index.js');
  let server;
  try {
    server = await startServer(config);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'RS_ERR_INVALID_OPTION') {
      // Every flag passed its own check, but the stores refused them together (say, more shared memory a
      // partition than a ring store takes): a bad flag, so exit 2, naming the flags behind the store's options.
      process.stderr.write(`ringstore serve: --capacity, --arena-bytes and --partitions (or their RINGSTORE_* variables) give stores that cannot be made: ${e.code} ${e.message ?? ''}\n`);
      return 2;
    }
    process.stderr.write(`ringstore serve: cannot start: ${e.code ?? ''} ${e.message ?? String(err)}\n`);
    return 1;
  }
  const stopped = onShutdownSignal(server, config.shutdownTimeoutMs);
  whenOrphanedUnderNpm(() => {
    server.context.log.info({ npmScript: process.env.npm_lifecycle_event }, 'the npm process that started the daemon is gone: stopping as on SIGTERM');
    process.kill(process.pid, 'SIGTERM');
  });
  const code = await stopped;
  // Everything is closed and pino writes synchronously: exit now rather than
  // wait for timers of closed stores to lapse.
  process.exit(code);
}
