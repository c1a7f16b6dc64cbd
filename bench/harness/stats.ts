/** Statistics of the harness: medians, spread, latency percentiles, ratios. Pure functions. */
import type { CaseResult, MemoryFigures, Role, Sample, Target } from './types.js';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The p-th percentile (0 < p <= 100) of sorted values, nearest rank: the
 * smallest value with at least p% of the values at or below it.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  // (p * n) / 100 with a tolerance: 99.9% of 1000 is rank 999, not 1000 through rounding.
  const rank = Math.ceil((p * sorted.length) / 100 - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Concatenates and sorts latency arrays into one Float64Array. */
export function mergeSorted(parts: readonly ArrayLike<number>[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) out[at + i] = p[i];
    at += p.length;
  }
  return out.sort();
}

/** What the runner collected for one case. */
export interface CaseSamples {
  name: string;
  role: Role;
  op: string;
  vs: string;
  samples: Sample[];
  memory: MemoryFigures[];
  skipped?: string;
  error?: string;
}

/** Aggregates measured rounds: median and spread of throughput, latency percentiles, peak memory. */
export function aggregateCase(c: CaseSamples): Omit<CaseResult, 'ratio' | 'refRatio'> {
  const perSecond = c.samples.map((s) => (s.ms > 0 ? (s.ops * 1000) / s.ms : NaN));
  const finite = perSecond.filter(Number.isFinite);
  const med = median(finite);
  const min = finite.length ? Math.min(...finite) : NaN;
  const max = finite.length ? Math.max(...finite) : NaN;
  const out: Omit<CaseResult, 'ratio' | 'refRatio'> = {
    name: c.name,
    role: c.role,
    op: c.op,
    rounds: c.samples.length,
    perSecond,
    median: med,
    min,
    max,
    spread: finite.length ? (max - min) / med : NaN,
    vs: c.vs,
  };
  if (c.skipped !== undefined) out.skipped = c.skipped;
  if (c.error !== undefined) out.error = c.error;
  const lat = c.samples.filter((s) => s.latenciesMs !== undefined && s.latenciesMs.length > 0).map((s) => s.latenciesMs!);
  const summaries = c.samples.map((s) => s.latencySummary).filter((x) => x !== undefined);
  if (lat.length === 0 && summaries.length > 0) {
    // Pre-computed per round: the median of each percentile over rounds.
    out.latency = {
      count: summaries.reduce((n, x) => n + x.count, 0),
      p50: median(summaries.map((x) => x.p50)),
      p99: median(summaries.map((x) => x.p99)),
      p999: median(summaries.map((x) => x.p999)),
      max: Math.max(...summaries.map((x) => x.max)),
    };
  }
  if (lat.length > 0) {
    const all = mergeSorted(lat);
    out.latency = {
      count: all.length,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      p999: percentile(all, 99.9),
      max: all[all.length - 1],
    };
  }
  if (c.memory.length > 0) {
    out.memory = {
      rssBytes: Math.max(...c.memory.map((m) => m.rssBytes)),
      heapUsedBytes: Math.max(...c.memory.map((m) => m.heapUsedBytes)),
      sharedBytes: c.memory.some((m) => m.sharedBytes !== null) ? Math.max(...c.memory.map((m) => m.sharedBytes ?? 0)) : null,
    };
  }
  const cpu = c.samples.map((s) => s.cpuUsPerOp).filter((x) => x !== undefined);
  if (cpu.length > 0) {
    out.cpuUsPerOp = { main: median(cpu.map((x) => x.main)), process: median(cpu.map((x) => x.process)) };
    if (cpu.every((x) => x.workers !== undefined)) out.cpuUsPerOp.workers = median(cpu.map((x) => x.workers!));
    if (cpu.every((x) => x.other !== undefined)) out.cpuUsPerOp.other = median(cpu.map((x) => x.other!));
    const groups = [...new Set(cpu.flatMap((x) => Object.keys(x.threads ?? {})))];
    if (groups.length > 0) out.cpuUsPerOp.threads = Object.fromEntries(groups.map((g) => [g, median(cpu.map((x) => x.threads?.[g] ?? 0))]));
  }
  const notes = c.samples.map((s) => s.note).filter((n): n is string => n !== undefined);
  if (notes.length > 0) out.note = notes[notes.length - 1];
  return out;
}

/**
 * Divides each case's median by its baseline's median (same run). A case whose
 * baseline is itself gets 1; a missing, skipped or failed baseline gives NaN.
 */
export function withRatios(cases: readonly Omit<CaseResult, 'ratio' | 'refRatio'>[], reference: string): CaseResult[] {
  const byName = new Map(cases.map((c) => [c.name, c]));
  const ratio = (c: Omit<CaseResult, 'ratio' | 'refRatio'>, baseName: string, sameOp: boolean): number => {
    const base = byName.get(baseName);
    const ok = base !== undefined && base.skipped === undefined && base.error === undefined && base.median > 0;
    if (!ok || c.skipped !== undefined || c.error !== undefined) return NaN;
    if (sameOp && base.op !== c.op) return NaN;
    return c.median / base.median;
  };
  return cases.map((c) => ({ ...c, ratio: ratio(c, c.vs, false), refRatio: ratio(c, reference, true) }));
}

/** Each case's target verdict, read from the finished results. */
export function withTargets(results: CaseResult[], targets: ReadonlyMap<string, Target>): CaseResult[] {
  return results.map((c) => {
    const t = targets.get(c.name);
    if (t === undefined) return c;
    const ran = c.skipped === undefined && c.error === undefined;
    return { ...c, target: { text: t.text, met: ran ? t.met(c, results) : null } };
  });
}

export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  if (n >= 10) return n.toFixed(0);
  return n.toFixed(2);
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return '-';
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(0)} MiB`;
  if (b >= 2 ** 10) return `${(b / 2 ** 10).toFixed(0)} KiB`;
  return `${b} B`;
}

export function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return '-';
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}
