/**
 * One SVG chart per scenario: a horizontal bar per case (median rate, log
 * scale, whisker from the slowest to the fastest round), grouped by what the
 * case counts (events, queries...), coloured by role, labelled with the ratio
 * to its baseline. Pure string building, no dependencies.
 */
import { fmtRate, fmtRatio } from './stats.js';
import type { CaseResult, Role, ScenarioResult } from './types.js';

const COLOURS: Record<Role, string> = { subject: '#2f6fdf', peer: '#e08a1e', floor: '#8a8a8a' };
const ROW = 22;
const LABEL_W = 430;
const BAR_W = 360;
const RIGHT_W = 170;

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** x position (0..width) of value v on a log scale spanning [lo, hi]. */
export function logX(v: number, lo: number, hi: number, width: number): number {
  if (!(v > 0) || !(hi > lo)) return 0;
  const t = (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
  return Math.max(0, Math.min(width, t * width));
}

function measured(c: CaseResult): boolean {
  return c.skipped === undefined && c.error === undefined && Number.isFinite(c.median) && c.median > 0;
}

export function renderSvg(r: ScenarioResult): string {
  const groups = new Map<string, CaseResult[]>();
  for (const c of r.cases) {
    const g = groups.get(c.op) ?? [];
    g.push(c);
    groups.set(c.op, g);
  }
  const parts: string[] = [];
  let y = 46;
  for (const [op, cases] of groups) {
    const ok = cases.filter(measured);
    const lo = ok.length ? Math.min(...ok.map((c) => c.min)) / 2 : 1;
    const hi = ok.length ? Math.max(...ok.map((c) => c.max)) * 1.2 : 10;
    parts.push(`<text x="8" y="${y + 12}" class="g">${escapeXml(op)} per second (log scale)</text>`);
    y += ROW;
    for (const c of cases) {
      const label = escapeXml(c.name.length > 68 ? `${c.name.slice(0, 66)}…` : c.name);
      parts.push(`<text x="8" y="${y + 14}" class="l">${label}</text>`);
      if (measured(c)) {
        const w = logX(c.median, lo, hi, BAR_W);
        const x0 = LABEL_W;
        parts.push(`<rect x="${x0}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${COLOURS[c.role]}"><title>${escapeXml(`${c.name}: ${fmtRate(c.median)} ${c.op}/s`)}</title></rect>`);
        const a = x0 + logX(c.min, lo, hi, BAR_W);
        const b = x0 + logX(c.max, lo, hi, BAR_W);
        const cy = y + ROW / 2;
        parts.push(`<path d="M${a.toFixed(1)} ${cy}H${b.toFixed(1)}M${a.toFixed(1)} ${cy - 4}V${cy + 4}M${b.toFixed(1)} ${cy - 4}V${cy + 4}" class="w"/>`);
        const ratio = c.vs === c.name ? '' : ` · ${fmtRatio(c.ratio)}`;
        parts.push(`<text x="${LABEL_W + BAR_W + 8}" y="${y + 14}" class="v">${escapeXml(`${fmtRate(c.median)}/s${ratio}`)}</text>`);
      } else {
        const why = c.skipped !== undefined ? `skipped: ${c.skipped}` : `error: ${c.error ?? 'no figure'}`;
        parts.push(`<text x="${LABEL_W}" y="${y + 14}" class="s">${escapeXml(why.slice(0, 70))}</text>`);
      }
      y += ROW;
    }
    y += 8;
  }
  if (r.pending !== undefined) {
    parts.push(`<text x="8" y="${y + 14}" class="s">${escapeXml(`pending: ${r.pending}`)}</text>`);
    y += ROW;
  }
  const width = LABEL_W + BAR_W + RIGHT_W;
  const legendY = y + 14;
  const legend = (['subject', 'peer', 'floor'] as Role[])
    .map((role, i) => `<rect x="${8 + i * 110}" y="${legendY - 10}" width="12" height="12" fill="${COLOURS[role]}"/><text x="${24 + i * 110}" y="${legendY}" class="l">${role === 'subject' ? 'ringstore' : role}</text>`)
    .join('');
  const height = legendY + 24;
  const title = escapeXml(`${r.scenario}: ${r.title}`);
  const sub = escapeXml(`${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node} · median of ${r.rounds} rounds, whiskers min–max · ratio vs the case's baseline, same run`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    '<style>.t{font-size:15px;font-weight:bold}.u{font-size:11px;fill:#555}.g{font-size:12px;font-weight:bold;fill:#333}.l{font-size:11px;fill:#222}.v{font-size:11px;fill:#222}.s{font-size:11px;fill:#a33}.w{stroke:#000;stroke-width:1;fill:none}</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="20" class="t">${title}</text>`,
    `<text x="8" y="36" class="u">${sub}</text>`,
    ...parts,
    legend,
    '</svg>',
    '',
  ].join('\n');
}
