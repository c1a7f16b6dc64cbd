/**
 * The daemon's memory by mapping, from /proc/PID/smaps (Linux): which part of
 * RSS grows. A V8 heap shows as many small anonymous mappings, a glibc
 * malloc arena of a thread as an anonymous mapping at a 64 MiB boundary, the
 * main arena as `[heap]`, code and libraries as files. Pure parsing, plus
 * readers that return null where there is no /proc.
 */
import { readFileSync } from 'node:fs';

export interface Mapping {
  start: number;
  end: number;
  perms: string;
  /** Path, `[heap]`, `[stack]`..., or '' for an anonymous mapping. */
  name: string;
  rssKB: number;
}

/** glibc's thread arenas are reserved as 64 MiB regions aligned on 64 MiB (HEAP_MAX_SIZE on 64-bit). */
const ARENA_ALIGN = 64 * 2 ** 20;

export function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      cur = { start: parseInt(head[1], 16), end: parseInt(head[2], 16), perms: head[3], name: head[4].trim(), rssKB: 0 };
      out.push(cur);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null && cur !== undefined) cur.rssKB = Number(rss[1]);
  }
  return out;
}

/** What a mapping most likely is. */
export function classify(m: Mapping): string {
  if (m.name === '[heap]') return 'malloc main arena ([heap])';
  if (m.name.startsWith('[')) return m.name;
  if (m.name !== '') return 'file';
  if (m.start % ARENA_ALIGN === 0 && m.end - m.start <= ARENA_ALIGN) return 'anon at 64 MiB (malloc thread arena)';
  return 'anon (V8 heaps, buffers, large mallocs)';
}

/** RSS in MB per class of mapping. */
export function rssByClass(maps: readonly Mapping[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) out[classify(m)] = (out[classify(m)] ?? 0) + m.rssKB / 1024;
  return out;
}

/** The mappings whose RSS grew most from `a` to `b` (matched by start address), largest first. */
export function growth(a: readonly Mapping[], b: readonly Mapping[], top = 10): { mapping: string; kind: string; fromMB: number; toMB: number }[] {
  const before = new Map(a.map((m) => [m.start, m.rssKB]));
  return b
    .map((m) => ({ m, d: m.rssKB - (before.get(m.start) ?? 0) }))
    .filter((x) => x.d > 0)
    .sort((x, y) => y.d - x.d)
    .slice(0, top)
    .map(({ m }) => ({
      mapping: `${m.start.toString(16)}-${m.end.toString(16)} ${m.perms} ${(m.end - m.start) / 2 ** 20 < 1 ? `${((m.end - m.start) / 1024).toFixed(0)} KiB` : `${((m.end - m.start) / 2 ** 20).toFixed(1)} MiB`}${m.name === '' ? '' : ` ${m.name}`}`,
      kind: classify(m),
      fromMB: (before.get(m.start) ?? 0) / 1024,
      toMB: m.rssKB / 1024,
    }));
}

export function readSmaps(pid: number): Mapping[] | null {
  try {
    return parseSmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
  } catch {
    return null;
  }
}
