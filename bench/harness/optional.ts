/**
 * The harness's optional packages. Peers (Emmett, ioredis, autocannon), the
 * producer-thread pool (piscina), the durable backend (lmdb) and the daemon's
 * packages are not dependencies of an installed ringstore: the harness loads
 * each on first use, and a case that needs a missing one is reported as
 * skipped with the command that installs it, never as a failure.
 */
import { isInstalled } from '../../src/cli/package-info.js';

/** The skip reason of a case that needs the packages `names` (null when all are installed). */
export function missing(...names: string[]): string | null {
  const absent = names.filter((n) => !isInstalled(n));
  return absent.length === 0 ? null : `not installed: ${absent.join(', ')} (npm install -D ${absent.join(' ')})`;
}

/** Imports an optional package, or returns why it cannot be (see {@link missing}). */
export async function importOptional<T>(name: string): Promise<T | string> {
  const why = missing(name);
  if (why !== null) return why;
  return (await import(name)) as T;
}
