/** Text and JSON output of results: the table printed by `ringstore bench`, the files in bench/results. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmtBytes, fmtMs, fmtRate, fmtRatio } from './stats.js';
import type { CaseResult, CpuPerOp, ScenarioResult } from './types.js';

function spreadText(c: CaseResult): string {
  return Number.isFinite(c.spread) ? `±${((c.spread * 100) / 2).toFixed(0)}%` : '-';
}

function latencyText(c: CaseResult): string {
  if (c.latency === undefined) return '';
  return `${fmtMs(c.latency.p50)} / ${fmtMs(c.latency.p99)} / ${fmtMs(c.latency.p999)}`;
}

function memoryText(c: CaseResult): string {
  if (c.memory === undefined) return '';
  return `${fmtBytes(c.memory.rssBytes)} / ${fmtBytes(c.memory.heapUsedBytes)} / ${c.memory.sharedBytes === null ? '-' : fmtBytes(c.memory.sharedBytes)}`;
}

function targetText(c: CaseResult): string {
  if (c.target === undefined) return '';
  return `${c.target.text}: ${c.target.met === null ? 'not measured' : c.target.met ? 'met' : 'MISSED'}`;
}

/** One markdown row per case: what a reader needs to compare the store with its peers (and its target, when any case has one). */
export function tableRows(r: ScenarioResult): string[][] {
  const targets = r.cases.some((c) => c.target !== undefined);
  return r.cases.map((c) => {
    const status = c.skipped !== undefined ? `skipped: ${c.skipped}` : c.error !== undefined ? `error: ${c.error}` : '';
    const rate = status || `${fmtRate(c.median)} ${c.op}/s`;
    const vs = c.vs === c.name ? '(baseline)' : `${fmtRatio(c.ratio)} ${c.vs}`;
    const row = [c.role, c.name, rate, status ? '' : spreadText(c), status ? '' : fmtRatio(c.refRatio), status ? '' : vs, latencyText(c), memoryText(c)];
    return targets ? [...row, targetText(c)] : row;
  });
}

export const TABLE_HEAD = ['role', 'case', 'median', 'spread', 'x reference', 'vs (same run)', 'latency p50 / p99 / p999', 'memory: process RSS / heap, store shared'];

/** The table's head: {@link TABLE_HEAD}, plus a target column when a case has a target. */
export function tableHead(r: ScenarioResult): string[] {
  return r.cases.some((c) => c.target !== undefined) ? [...TABLE_HEAD, 'target (this run)'] : TABLE_HEAD;
}

export function markdownTable(head: string[], rows: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function machineLine(r: ScenarioResult): string {
  const m = r.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}, load ${m.loadavg1m} at start`;
}

/** The text printed for one scenario. */
export function formatScenario(r: ScenarioResult): string {
  const lines = [`## ${r.scenario}: ${r.title}`, ''];
  if (r.pending !== undefined) {
    lines.push(`pending: ${r.pending}`, '');
    return lines.join('\n');
  }
  lines.push(
    `- machine: ${machineLine(r)}`,
    `- ${r.warmup} warm-up + ${r.rounds} measured rounds, cases alternating; ${r.seconds} s`,
    `- params: ${Object.entries(r.params).map(([k, v]) => `--${k} ${v}`).join(' ')}`,
    `- reference: ${r.reference}`,
    '',
    markdownTable(tableHead(r), tableRows(r)),
  );
  const notes = r.cases.flatMap((c) => [
    ...(c.note !== undefined ? [`- ${c.name}: ${c.note}`] : []),
    ...(c.cpuUsPerOp !== undefined ? [`- ${c.name}: CPU per ${singular(c.op)}: ${cpuText(c.cpuUsPerOp)}${threadCpu(c.cpuUsPerOp.threads)} (median of rounds)`] : []),
  ]);
  if (notes.length > 0) lines.push('', 'Notes:', '', ...notes);
  lines.push('');
  return lines.join('\n');
}

/** Writes `<out>/<scenario>.json`; returns the path. */
export function writeResult(out: string, r: ScenarioResult): string {
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `${r.scenario}.json`);
  writeFileSync(file, `${JSON.stringify({ kind: 'ringstore/bench-result', version: 1, ...r }, null, 2)}\n`);
  return file;
}

/** Reads every scenario result in `out` (files written by {@link writeResult}). */
export function readResults(out: string): ScenarioResult[] {
  let names: string[];
  try {
    names = readdirSync(out).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const results: ScenarioResult[] = [];
  for (const f of names) {
    try {
      const j = JSON.parse(readFileSync(path.join(out, f), 'utf8')) as { kind?: string } & ScenarioResult;
      if (j.kind === 'ringstore/bench-result') results.push(j);
    } catch {
      // not one of ours
    }
  }
  return results;
}

/** "events scanned" -> "event scanned", "queries" -> "query". */
function singular(op: string): string {
  return op.replace(/^(\w+?)(ies|s)\b/, (_, stem: string, end: string) => stem + (end === 'ies' ? 'y' : ''));
}

/** CPU time in µs, or in ns below 0.1 µs (scans cost nanoseconds per event). */
function fmtCpu(us: number): string {
  return us >= 0.1 ? `${us.toFixed(2)} µs` : `${(us * 1000).toFixed(1)} ns`;
}

/** "x µs main thread, y µs partition workers, z µs other threads, w µs whole process". */
function cpuText(c: CpuPerOp): string {
  const parts = [`${fmtCpu(c.main)} main thread`];
  if (c.workers !== undefined) parts.push(`${fmtCpu(c.workers)} partition workers`);
  if (c.other !== undefined) parts.push(`${fmtCpu(c.other)} other threads`);
  parts.push(`${fmtCpu(c.process)} whole process`);
  return parts.join(', ');
}

/** `; per thread: main 1.20, ingest 0.80 µs…` from a case's per-thread CPU, or ''. */
function threadCpu(threads: Record<string, number> | undefined): string {
  if (threads === undefined) return '';
  return `; per thread group: ${Object.entries(threads).map(([g, us]) => `${g} ${us.toFixed(2)}`).join(', ')} µs`;
}
