/**
 * The soak's chart: memory (RSS, used heap) and latency (p50, p99, event-loop
 * delay p99) over time, one panel each, with the second half's RSS and heap
 * trend lines. Pure string building.
 */
import { escapeXml } from '../harness/svg.js';
import type { SoakSample, SoakVerdict } from './analysis.js';

const W = 900;
const PANEL_H = 220;
const LEFT = 64;
const RIGHT = 150;
const TOP = 62;
const GAP = 56;

interface Series {
  name: string;
  colour: string;
  values: number[];
  dash?: boolean;
}

const niceMax = (v: number): number => {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
};

function panel(y0: number, title: string, unit: string, minutes: number[], series: Series[], trends: { colour: string; slope: number; at: number; value: number }[]): string {
  const plotW = W - LEFT - RIGHT;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const max = niceMax(Math.max(1, ...all) * 1.05);
  const tMax = Math.max(1 / 60, ...minutes);
  const x = (t: number): number => LEFT + (t / tMax) * plotW;
  const y = (v: number): number => y0 + PANEL_H - (Math.max(0, v) / max) * PANEL_H;
  const out: string[] = [`<text x="${LEFT}" y="${y0 - 8}" class="h">${escapeXml(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(`<path d="M${LEFT} ${y(v).toFixed(1)}H${LEFT + plotW}" class="grid"/><text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" class="ax" text-anchor="end">${+v.toPrecision(3)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const t = (tMax * i) / 5;
    out.push(`<text x="${x(t).toFixed(1)}" y="${y0 + PANEL_H + 16}" class="ax" text-anchor="middle">${+t.toPrecision(3)} min</text>`);
  }
  out.push(`<text x="14" y="${y0 + PANEL_H / 2}" class="ax" transform="rotate(-90 14 ${y0 + PANEL_H / 2})" text-anchor="middle">${escapeXml(unit)}</text>`);
  series.forEach((s, k) => {
    const pts = minutes.map((t, i) => [t, s.values[i]] as const).filter(([, v]) => Number.isFinite(v));
    if (pts.length > 0) out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="1.8"${s.dash ? ' stroke-dasharray="4 3"' : ''} points="${pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
    out.push(`<rect x="${LEFT + plotW + 14}" y="${y0 + 8 + k * 18}" width="12" height="3" fill="${s.colour}"/><text x="${LEFT + plotW + 32}" y="${y0 + 13 + k * 18}" class="l">${escapeXml(s.name)}</text>`);
  });
  for (const tr of trends) {
    if (!Number.isFinite(tr.slope)) continue;
    const t1 = tMax;
    out.push(`<path d="M${x(tr.at).toFixed(1)} ${y(tr.value).toFixed(1)}L${x(t1).toFixed(1)} ${y(tr.value + tr.slope * (t1 - tr.at)).toFixed(1)}" stroke="${tr.colour}" stroke-width="1" stroke-dasharray="2 3" fill="none"/>`);
  }
  return out.join('\n');
}

/** The chart of a run. */
export function renderSoakSvg(samples: readonly SoakSample[], verdict: SoakVerdict, subtitle: string): string {
  const minutes = samples.map((s) => s.t / 60);
  const half = Math.floor(samples.length / 2);
  const mid = samples[half];
  const memory = panel(TOP + 20, 'memory', 'MB', minutes, [
    { name: 'RSS', colour: '#2f6fdf', values: samples.map((s) => s.rssMB) },
    { name: 'main heap used', colour: '#e08a1e', values: samples.map((s) => s.heapUsedMB) },
    { name: "workers' heaps", colour: '#8e44ad', values: samples.map((s) => s.workerHeapMB) },
  ], mid === undefined ? [] : [
    { colour: '#2f6fdf', slope: verdict.rssSlope, at: mid.t / 60, value: mid.rssMB },
    { colour: '#e08a1e', slope: verdict.heapSlope, at: mid.t / 60, value: mid.heapUsedMB },
    { colour: '#8e44ad', slope: verdict.workerHeapSlope, at: mid.t / 60, value: mid.workerHeapMB },
  ]);
  const latency = panel(TOP + 20 + PANEL_H + GAP, 'latency per sample window', 'ms', minutes, [
    { name: 'p50', colour: '#6a9a3a', values: samples.map((s) => s.p50) },
    { name: 'p99', colour: '#c0392b', values: samples.map((s) => s.p99) },
    { name: '/health p99', colour: '#16a085', values: samples.map((s) => s.healthP99) },
    { name: 'event-loop p99', colour: '#8a8a8a', values: samples.map((s) => s.lagP99), dash: true },
  ], []);
  const height = TOP + 20 + 2 * PANEL_H + GAP + 40;
  const status = verdict.ok ? 'soak: bounded and stable' : `soak: FAILED (${verdict.failures.length === 1 ? verdict.failures[0] : `${verdict.failures.length} failures`})`;
  const figures = `RSS ${verdict.rssSlope.toFixed(2)} MB/min, main heap ${verdict.heapSlope.toFixed(2)}, workers' heaps ${verdict.workerHeapSlope.toFixed(2)} MB/min over the second half (Theil–Sen, dotted); p99 ${verdict.p99Early.toFixed(1)} ms (second quarter) → ${verdict.p99Late.toFixed(1)} ms (last); ${verdict.errors} of ${verdict.requests} requests failed`;
  const clip = (s: string, n: number): string => escapeXml(s.length > n ? `${s.slice(0, n - 1)}…` : s);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">`,
    '<style>.h{font-size:13px;font-weight:bold}.l{font-size:12px}.ax{font-size:11px;fill:#555}.grid{stroke:#e4e4e4;stroke-width:1}.t{font-size:14px;font-weight:bold}.s{font-size:11px;fill:#555}</style>',
    `<rect width="${W}" height="${height}" fill="white"/>`,
    `<text x="8" y="18" class="t"${verdict.ok ? '' : ' fill="#c0392b"'}>${clip(status, 110)}</text>`,
    `<text x="8" y="34" class="s">${clip(figures, 160)}</text>`,
    `<text x="8" y="48" class="s">${clip(subtitle, 160)}</text>`,
    memory,
    latency,
    '</svg>',
    '',
  ].join('\n');
}
