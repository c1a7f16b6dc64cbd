// Disk usage of a data directory, as `du --apparent-size -b` would count it, and the files that should not
// pile up (test/long-uptime/disk*.test.ts, docs/testing.md "Long uptime", disk).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface DiskUse {
  /** Bytes of every regular file under the directory. */
  bytes: number;
  /** Every file, relative to the directory. */
  files: string[];
}

export function diskUse(dir: string): DiskUse {
  const files: string[] = [];
  let bytes = 0;
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else if (e.isFile()) {
        files.push(r);
        bytes += statSync(join(d, e.name)).size;
      }
    }
  };
  walk(dir, '');
  return { bytes, files: files.sort() };
}

/** Files a crash may leave that must not accumulate: temp files and moved-aside segments. */
export const leftovers = (u: DiskUse): string[] => u.files.filter((f) => /\.tmp$|\.broken(\.\d+)?$/.test(f));
