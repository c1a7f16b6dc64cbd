/**
 * Generates the results section of docs/benchmarks.md from the JSON results:
 * only the text between the two markers is rewritten, so hand-written text
 * around it (and recorded figures elsewhere) is kept.
 */
import path from 'node:path';
import { formatScenario } from './report.js';
import type { ScenarioResult } from './types.js';

export const BEGIN = '<!-- BEGIN ringstore bench: generated from bench/results/*.json by `ringstore bench --docs`; edit outside these markers -->';
export const END = '<!-- END ringstore bench -->';

/** Replaces the generated section of `doc` (appends it when the markers are missing). */
export function replaceSection(doc: string, body: string): string {
  const block = `${BEGIN}\n\n${body.trim()}\n\n${END}`;
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) return doc.slice(0, a) + block + doc.slice(b + END.length);
  return `${doc.replace(/\s*$/, '')}\n\n${block}\n`;
}

/** Orders results as `order` lists scenario names; unknown ones last, by name. */
export function ordered(results: readonly ScenarioResult[], order: readonly string[]): ScenarioResult[] {
  const rank = (n: string): number => {
    const i = order.indexOf(n);
    return i < 0 ? order.length : i;
  };
  return [...results].sort((x, y) => rank(x.scenario) - rank(y.scenario) || x.scenario.localeCompare(y.scenario));
}

/** The generated markdown: one section per scenario with its command, table, notes and chart. */
export function renderDocsSection(results: readonly ScenarioResult[], docFile: string, outDir: string, order: readonly string[]): string {
  const rel = path.relative(path.dirname(path.resolve(docFile)), path.resolve(outDir)).split(path.sep).join('/') || '.';
  const parts: string[] = [];
  for (const r of ordered(results, order)) {
    const text = formatScenario(r).replace(/^## /, '### ');
    const [heading, ...rest] = text.split('\n');
    parts.push(heading, '', r.description, '', 'Command (from the repository root, after `npm run build`):', '', '```sh fragment', r.command, '```', '');
    parts.push(`Recorded ${r.date.slice(0, 16).replace('T', ' ')} UTC.`, ...rest);
    if (r.pending === undefined) parts.push(`![${r.scenario} chart](${rel}/${r.scenario}.svg)`, '');
  }
  return parts.join('\n');
}
