/**
 * The dashboard's static files, read once at startup into memory: the page
 * (`src/server/dashboard/public/`, shipped with the package) and uPlot's
 * browser build from its installed package. Requests are looked up by name in
 * this fixed table, so no request path ever reaches the file system (no path
 * traversal, whatever the encoding).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One servable file. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** Strong ETag (content hash). */
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The page's folder: `src/server/dashboard/public/` from the package root (this module runs from `dist/src/server/dashboard/`). */
export const PUBLIC_DIR = fileURLToPath(new URL('../../../../src/server/dashboard/public/', import.meta.url));

/** uPlot's files, served under `vendor/`. */
const VENDOR: Record<string, string> = {
  'vendor/uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'vendor/uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

const SAFE_NAME = /^[\w-]+(\.[\w-]+)+$/;

function asset(path: string): Asset | undefined {
  const type = TYPES[extname(path)];
  if (type === undefined) return undefined;
  const body = readFileSync(path);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/**
 * Reads the dashboard's files: `index.html`, the page's modules and styles by
 * file name, uPlot under `vendor/`. Throws when a file is missing (a broken
 * install); the caller decides what the daemon does without a dashboard.
 */
export function loadAssets(publicDir: string = PUBLIC_DIR): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(publicDir)) {
    const path = join(publicDir, name);
    if (!SAFE_NAME.test(name) || !statSync(path).isFile()) continue;
    const a = asset(path);
    if (a !== undefined) out.set(name, a);
  }
  if (!out.has('index.html')) throw new Error(`no index.html in ${publicDir}`);
  const require = createRequire(import.meta.url);
  for (const [name, specifier] of Object.entries(VENDOR)) {
    const a = asset(require.resolve(specifier));
    if (a === undefined) throw new Error(`cannot serve ${specifier}`);
    out.set(name, a);
  }
  return out;
}
