/**
 * `npm start` runs `sh -c "node … serve"`: npm passes a SIGTERM to the shell,
 * and a shell that does not exec its command (Debian's dash) dies without
 * passing it on, leaving the daemon running, orphaned, on its port. So a
 * daemon started by an npm script treats the loss of its parent as that
 * SIGTERM. Only under npm: a daemon detached on purpose (`nohup`, `setsid`)
 * is not an npm script's child. No-op on Windows, which reparents nothing.
 */

const POLL_MS = 200;

/**
 * Calls `onOrphaned` once when this process's parent changes (the parent
 * died); returns a function that stops watching. Does nothing unless run by
 * an npm script (`npm_lifecycle_event` set) on a POSIX system.
 */
export function whenOrphanedUnderNpm(onOrphaned: () => void, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): () => void {
  if (env.npm_lifecycle_event === undefined || platform === 'win32') return () => {};
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
