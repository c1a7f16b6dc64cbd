/**
 * `mkdir -p` that cannot spin. Node 20's `fs.mkdirSync(dir, { recursive: true })`
 * (and the promise form) loops for ever, at 100% CPU, on a directory the
 * filesystem will not create although its parent exists: `mkdir` answers
 * ENOENT, Node makes the parent (EEXIST), tries again, ENOENT... (`/proc/x`:
 * `ringstore serve --data-dir /proc/x` hung before listening). Here each level
 * is made at most once, so such a directory fails with its own error.
 */
import fs from 'node:fs';
import path from 'node:path';

const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/** Makes `dir` and its missing parents; returns when it exists as a directory. Throws the system error otherwise. */
export function makeDirs(dir: string): void {
  const abs = path.resolve(dir);
  if (tryMake(abs)) return;
  const parent = path.dirname(abs);
  if (parent !== abs) makeDirs(parent);
  if (!tryMake(abs)) fs.mkdirSync(abs); // ENOENT again though the parent exists: throw it, once
}

/** True when `abs` is a directory after one `mkdir`; false when its parent is missing (ENOENT). */
function tryMake(abs: string): boolean {
  try {
    fs.mkdirSync(abs);
    return true;
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return false;
    // Made meanwhile (another thread or process), or there already: fine if a directory; a file in the way throws.
    if (codeOf(err) === 'EEXIST' && fs.statSync(abs).isDirectory()) return true;
    throw err;
  }
}
