/**
 * Text summaries of Node's own profiles (`--cpu-prof`, `--heap-prof`): the
 * functions with the most self time, the allocation sites with the most
 * bytes. Pure functions over the parsed JSON.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface HeapProfile {
  head: HeapNode;
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

export interface Hot {
  name: string;
  where: string;
  /** Share of all samples (cpu) or of all sampled bytes (heap), 0..1. */
  share: number;
  /** Self time in ms (cpu) or bytes (heap). */
  amount: number;
}

function frameName(f: CallFrame): string {
  return f.functionName === '' ? '(anonymous)' : f.functionName;
}

function frameWhere(f: CallFrame): string {
  if (f.url === '') return '';
  const short = f.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${short}:${f.lineNumber + 1}`;
}

function top(map: Map<string, Hot>, total: number, n: number): Hot[] {
  return [...map.values()].map((h) => ({ ...h, share: total > 0 ? h.share / total : 0 })).sort((a, b) => b.share - a.share).slice(0, n);
}

/** Functions by self time (samples landing in them), merged by name and location. */
export function topSelfTime(p: CpuProfile, n = 15): Hot[] {
  const totalHits = p.nodes.reduce((s, x) => s + (x.hitCount ?? 0), 0);
  const msPerHit = totalHits > 0 ? (p.endTime - p.startTime) / 1000 / totalHits : 0;
  const byKey = new Map<string, Hot>();
  for (const node of p.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const name = frameName(node.callFrame);
    const where = frameWhere(node.callFrame);
    const key = `${name}@${where}`;
    const h = byKey.get(key) ?? { name, where, share: 0, amount: 0 };
    h.share += hits;
    h.amount += hits * msPerHit;
    byKey.set(key, h);
  }
  return top(byKey, totalHits, n);
}

/** Allocation sites by sampled bytes. */
export function topAllocations(p: HeapProfile, n = 15): Hot[] {
  const byKey = new Map<string, Hot>();
  let total = 0;
  const stack: HeapNode[] = [p.head];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.selfSize > 0) {
      const name = frameName(node.callFrame);
      const where = frameWhere(node.callFrame);
      const key = `${name}@${where}`;
      const h = byKey.get(key) ?? { name, where, share: 0, amount: 0 };
      h.share += node.selfSize;
      h.amount += node.selfSize;
      byKey.set(key, h);
      total += node.selfSize;
    }
    for (const c of node.children) stack.push(c);
  }
  return top(byKey, total, n);
}

export function formatHot(title: string, rows: readonly Hot[], unit: 'ms' | 'bytes'): string {
  const lines = [title];
  for (const r of rows) {
    const amount = unit === 'ms' ? `${r.amount.toFixed(0)} ms` : `${(r.amount / 1024).toFixed(0)} KiB`;
    lines.push(`  ${(r.share * 100).toFixed(1).padStart(5)}%  ${amount.padStart(9)}  ${r.name}${r.where ? `  ${r.where}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
