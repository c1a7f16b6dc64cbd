/**
 * What the CLI knows about the installed ringstore package: its version and
 * its optional peer dependencies (the daemon's and the bench's packages, which
 * an embedding user does not install; see README "Installing").
 */
import { readFileSync } from 'node:fs';

interface PackageJson {
  version: string;
  peerDependencies?: Record<string, string>;
}

let cached: PackageJson | undefined;

/** ringstore's own package.json (dist/src/cli/ -> the package root). */
export function packageJson(): PackageJson {
  cached ??= JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as PackageJson;
  return cached;
}

/** The packages the daemon (`ringstore serve`, `ringstore/server`) imports beyond the embedded store's. */
export const DAEMON_PACKAGES = ['fastify', '@fastify/swagger', 'prom-client', 'lmdb', 'piscina'] as const;

/** True when `name` resolves from ringstore's own location, as ringstore's imports would resolve it. */
export function isInstalled(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The packages of `names` that are not installed. */
export function missingPackages(names: readonly string[]): string[] {
  return names.filter((n) => !isInstalled(n));
}

/** `npm install a@range b@range`, with the ranges ringstore declares for its peers. */
export function installCommand(names: readonly string[]): string {
  const peers = packageJson().peerDependencies ?? {};
  return `npm install ${names.map((n) => (peers[n] ? `${n}@${peers[n]}` : n)).join(' ')}`;
}
