// Fast tests of the harness's own logic (argument parsing, aggregation, rendering,
// scenario loading). They import the built code: run `npx tsc -p tsconfig.json` first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { intList, parseBenchArgs, parseProfileArgs, resolveParams, unknownParams, UsageError } from '../../dist/bench/harness/args.js';
import { keepThreadsOffClinicTrace } from '../../dist/bench/harness/bench-cli.js';
import { BEGIN, END, ordered, renderDocsSection, replaceSection } from '../../dist/bench/harness/docs.js';
import { failedRun, folderName } from '../../dist/bench/harness/profile-cli.js';
import { formatHot, topAllocations, topSelfTime } from '../../dist/bench/harness/profile-summary.js';
import { bar, Progress } from '../../dist/bench/harness/progress.js';
import { findBinary, RedisManager } from '../../dist/bench/harness/redis.js';
import { formatScenario, markdownTable, readResults, writeResult } from '../../dist/bench/harness/report.js';
import { runScenario } from '../../dist/bench/harness/runner.js';
import { zipf } from '../../dist/bench/harness/scenarios/common.js';
import { SCENARIOS } from '../../dist/bench/harness/scenarios/index.js';
import { aggregateCase, median, percentile, withRatios } from '../../dist/bench/harness/stats.js';
import { escapeXml, logX, renderSvg } from '../../dist/bench/harness/svg.js';
import type { Scenario, ScenarioResult, Target } from '../../dist/bench/harness/types.js';
import { fromUserScenario, loadUserScenario } from '../../dist/bench/harness/user-module.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function quietRun(s: Scenario, rawParams: Record<string, string> = {}, subjectsOnly = false): Promise<ScenarioResult> {
  const lines: string[] = [];
  const progress = new Progress({ write: (x: string) => lines.push(x), isTTY: false });
  return runScenario(s, { rounds: 3, warmup: 1, subjectsOnly, progress, redis: new RedisManager(null), rawParams, command: 'test' });
}

const fake: Scenario = {
  name: 'fake',
  title: 'Fake',
  description: 'synthetic cases with fixed samples',
  reference: 'floor',
  default: false,
  params: { ops: { default: 100, help: 'ops per round' }, label: { default: 'x', help: 'text' } },
  cases(ctx) {
    const ops = Number(ctx.params.ops);
    let r = 0;
    return [
      { name: 'floor', role: 'floor', run: () => ({ ops, ms: 10 }) },
      { name: 'subject', role: 'subject', run: () => ({ ops: ops * 2, ms: 10, latenciesMs: [1, 2, 3], sharedBytes: 4096 }) },
      { name: 'queries', role: 'subject', op: 'queries', vs: 'queries', run: () => ({ ops: 5, ms: 10 }) },
      { name: 'flaky', role: 'peer', run: () => { if (++r > 2) throw new Error('boom'); return { ops, ms: 10 }; } },
      { name: 'absent', role: 'peer', skip: 'not installed', run: () => ({ ops: 0, ms: 0 }) },
    ];
  },
};

describe('argument parsing', () => {
  it('parses scenarios, harness flags and scenario parameters', () => {
    const a = parseBenchArgs(['append', 'window', '--rounds', '5', '--warmup=0', '--events', '1000', '--zipf=1.3', '--no-write', '--module', 'm.js', '--docs', 'd.md']);
    expect(a.scenarios).toEqual(['append', 'window']);
    expect(a.rounds).toBe(5);
    expect(a.warmup).toBe(0);
    expect(a.write).toBe(false);
    expect(a.modules).toEqual(['m.js']);
    expect(a.docs).toBe('d.md');
    expect(a.params).toEqual({ events: '1000', zipf: '1.3' });
  });
  it('has modest defaults', () => {
    const a = parseBenchArgs([]);
    expect(a).toMatchObject({ scenarios: [], rounds: 3, warmup: 1, out: 'bench/results', write: true, docs: null, subjectsOnly: false });
  });
  it('rejects bad values', () => {
    expect(() => parseBenchArgs(['--rounds', '0'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--rounds', 'x'])).toThrow(/--rounds needs an integer/);
    expect(() => parseBenchArgs(['--events'])).toThrow(/--events needs a value/);
    expect(() => parseBenchArgs(['--report-only'])).toThrow(/--docs/);
  });
  it('resolves parameters against a scenario and reports unknown ones', () => {
    expect(resolveParams(fake.params, { ops: '1_000' })).toEqual({ ops: 1000, label: 'x' });
    expect(resolveParams(fake.params, { label: 'y' })).toEqual({ ops: 100, label: 'y' });
    expect(() => resolveParams(fake.params, { ops: 'many' })).toThrow(/--ops needs a number/);
    // a count, size or duration (a positive default) of 0 or below ran, and reported rates of nothing
    expect(() => resolveParams(fake.params, { ops: '-5' })).toThrow(/--ops needs a positive number/);
    expect(() => resolveParams(fake.params, { ops: '0' })).toThrow(/--ops needs a positive number/);
    expect(unknownParams([fake], { ops: '1', nope: '2' })).toEqual(['nope']);
    // a fraction above 1 (--selectivity 2) ran, with a filter that kept everything
    const window = SCENARIOS.find((s) => s.name === 'window')!;
    expect(() => resolveParams(window.params, { selectivity: '2' })).toThrow(/--selectivity needs a number at most 1, got 2/);
    expect(resolveParams(window.params, { selectivity: '1' }).selectivity).toBe(1);
    expect(intList('1, 2,2,4', 'p')).toEqual([1, 2, 4]);
    expect(() => intList('1,0', 'p')).toThrow(UsageError);
  });
  it('every built-in scenario declares what the issue asks for and has numeric defaults that parse', () => {
    const names = SCENARIOS.map((s) => s.name);
    expect(names).toEqual(['append', 'snapshot', 'window', 'hotcold', 'metric', 'streams', 'daemon', 'durability', 'replication', 'core']);
    expect(SCENARIOS.filter((s) => !s.default).map((s) => s.name)).toEqual(['replication', 'core']);
    for (const s of SCENARIOS) {
      expect(s.params).toBeTypeOf('object');
      expect(resolveParams(s.params, {})).toBeTypeOf('object');
      expect(s.reference.length).toBeGreaterThan(0);
    }
  });
  it('a bad scenario parameter or a missing --docs file exits 2 with its message, also with --quiet (no stack, no silent "1 with errors")', () => {
    const cli = path.join(here, '../../dist/src/cli/main.js');
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'bench', ...args], { encoding: 'utf8', timeout: 60_000 });
    const bad = run('metric', '--events', 'abc', '--quiet', '--no-write');
    expect([bad.status, bad.stderr.trim()]).toEqual([2, 'ringstore bench: metric: --events needs a number, got abc']);
    const keys = run('metric', '--keys', '1000', '--quiet', '--no-write');
    expect(keys.status).toBe(2);
    expect(keys.stderr).toMatch(/^ringstore bench: metric: .*keys/);
    const docs = run('--docs', path.join(tmpdir(), 'rs-no-such-doc.md'), '--report-only');
    expect(docs.status).toBe(2);
    expect(docs.stderr).toMatch(/^ringstore bench: --docs .*rs-no-such-doc\.md.*ENOENT/);
    expect(docs.stderr).not.toMatch(/\n\s+at /);
  });
  it('parses profile arguments and passes the rest to the run', () => {
    const p = parseProfileArgs(['window', '--tool', 'doctor', '--events', '100', '--timeout', '30']);
    expect(p).toMatchObject({ scenario: 'window', tool: 'doctor', timeoutSec: 30, out: '.clinic' });
    expect(p.passThrough).toEqual(['--events', '100']);
    expect(parseProfileArgs(['append']).tool).toBe('flame');
    expect(() => parseProfileArgs(['append', '--tool', 'perf'])).toThrow(/--tool must be one of/);
    expect(() => parseProfileArgs([])).toThrow(/scenario/);
    expect(folderName('append', 'flame', new Date('2026-01-02T03:04:05Z'))).toBe('append-flame-20260102-030405');
  });
});

describe('statistics', () => {
  it('median and nearest-rank percentiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    const xs = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(500);
    expect(percentile(xs, 99)).toBe(990);
    expect(percentile(xs, 99.9)).toBe(999);
    expect(percentile([7], 99.9)).toBe(7);
  });
  it('aggregates rounds: median, spread, latency, peak memory', () => {
    const c = aggregateCase({
      name: 'a', role: 'subject', op: 'events', vs: 'b',
      samples: [{ ops: 100, ms: 100, latenciesMs: [1, 3] }, { ops: 300, ms: 100, latenciesMs: [2] }, { ops: 200, ms: 100 }],
      memory: [{ rssBytes: 10, heapUsedBytes: 5, sharedBytes: null }, { rssBytes: 30, heapUsedBytes: 4, sharedBytes: 8 }],
    });
    expect(c.perSecond).toEqual([1000, 3000, 2000]);
    expect(c.median).toBe(2000);
    expect(c.spread).toBe(1);
    expect(c.latency).toEqual({ count: 3, p50: 2, p99: 3, p999: 3, max: 3 });
    expect(c.memory).toEqual({ rssBytes: 30, heapUsedBytes: 5, sharedBytes: 8 });
  });
  it('uses pre-computed latency summaries when no raw latencies exist', () => {
    const s = (p50: number) => ({ ops: 1, ms: 1, latencySummary: { count: 10, p50, p99: p50 * 2, p999: p50 * 3, max: p50 * 4 } });
    const c = aggregateCase({ name: 'a', role: 'subject', op: 'requests', vs: 'a', samples: [s(1), s(3), s(2)], memory: [] });
    expect(c.latency).toEqual({ count: 30, p50: 2, p99: 4, p999: 6, max: 12 });
  });
  it('divides by the baseline of the same run; NaN when it is missing or counts other operations', () => {
    const base = { rounds: 1, perSecond: [], min: 0, max: 0, spread: 0 };
    const rs = withRatios([
      { ...base, name: 'floor', role: 'floor', op: 'events', vs: 'floor', median: 100 },
      { ...base, name: 's', role: 'subject', op: 'events', vs: 'floor', median: 50 },
      { ...base, name: 'q', role: 'subject', op: 'queries', vs: 'floor', median: 7 },
      { ...base, name: 'x', role: 'peer', op: 'events', vs: 'gone', median: 1 },
    ], 'floor');
    expect(rs.map((r) => r.ratio)).toEqual([1, 0.5, 0.07, NaN]);
    expect(rs.map((r) => r.refRatio)).toEqual([1, 0.5, NaN, 0.01]);
  });
});

describe('runner', () => {
  it('runs warm-up and measured rounds, keeps going past a failing or skipped case', async () => {
    const r = await quietRun(fake, { ops: '50' });
    expect(r.params).toEqual({ ops: 50, label: 'x' });
    const by = Object.fromEntries(r.cases.map((c) => [c.name, c]));
    expect(by.floor.perSecond).toEqual([5000, 5000, 5000]);
    expect(by.subject.ratio).toBe(2);
    expect(by.subject.latency?.count).toBe(9);
    expect(by.subject.memory?.sharedBytes).toBe(4096);
    expect(by.queries.ratio).toBe(1);
    expect(by.flaky.error).toMatch(/boom/);
    expect(by.flaky.rounds).toBe(1);
    expect(by.absent.skipped).toBe('not installed');
    expect(by.absent.rounds).toBe(0);
  });
  it('subjects-only keeps only the ringstore cases', async () => {
    const r = await quietRun(fake, {}, true);
    expect(r.cases.map((c) => c.name)).toEqual(['subject', 'queries']);
  });
  it('reports a pending scenario instead of running it', async () => {
    const r = await quietRun({ ...fake, pending: async () => 'server not built', cases: () => { throw new Error('must not run'); } });
    expect(r.pending).toBe('server not built');
    expect(r.cases).toEqual([]);
    expect(formatScenario(r)).toContain('pending: server not built');
  });
});

describe('rendering', () => {
  it('prints a table with ratios, skipped and failed cases, and notes', async () => {
    const r = await quietRun(fake);
    const text = formatScenario(r);
    expect(text).toContain('| subject | subject | 20.0k events/s | ±0% | 2.00x | 2.00x floor |');
    expect(text).toContain('skipped: not installed');
    expect(text).toContain('error: Error: boom');
    expect(markdownTable(['a', 'b'], [['x|y', 'z']])).toBe('| a | b |\n|---|---|\n| x\\|y | z |');
  });
  it('renders a self-contained SVG with one bar per measured case', async () => {
    const r = await quietRun(fake);
    const svg = renderSvg({ ...r, title: 'a <b> & c' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg.match(/<rect x="430"/g)).toHaveLength(3);
    expect(svg).toContain('skipped: not installed');
    expect(escapeXml('"<&>"')).toBe('&quot;&lt;&amp;&gt;&quot;');
    expect(logX(10, 1, 100, 200)).toBeCloseTo(100);
    expect(logX(0, 1, 100, 200)).toBe(0);
  });
  it('draws a progress bar on a terminal and plain lines otherwise', () => {
    expect(bar(1, 4, 8)).toBe('[##......]');
    expect(bar(9, 4, 4)).toBe('[####]');
    const plain: string[] = [];
    const p = new Progress({ write: (x: string) => plain.push(x), isTTY: false });
    p.expect(2);
    p.step('one');
    expect(plain[0]).toMatch(/^\[bench 1\/2 \d+s\] one\n$/);
    const tty: string[] = [];
    const t = new Progress({ write: (x: string) => tty.push(x), isTTY: true, columns: 60 });
    t.expect(2);
    t.step('one');
    expect(tty[0]).toMatch(/^\r\x1b\[2K\[#{10}\.{10}\] 1\/2/);
    const quiet: string[] = [];
    new Progress({ write: (x: string) => quiet.push(x) }, true).step('x');
    expect(quiet).toEqual([]);
  });
  it('writes and reads results, and regenerates only the marked docs section', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rs-harness-test-'));
    try {
      const r = await quietRun(fake);
      writeResult(path.join(dir, 'results'), r);
      writeFileSync(path.join(dir, 'results', 'other.json'), '{"not":"ours"}');
      const results = readResults(path.join(dir, 'results'));
      expect(results.map((x) => x.scenario)).toEqual(['fake']);
      const docFile = path.join(dir, 'docs', 'benchmarks.md');
      const section = renderDocsSection(results, docFile, path.join(dir, 'results'), []);
      expect(section).toContain('### fake: Fake');
      expect(section).toContain('```sh fragment\ntest\n```');
      expect(section).toContain('![fake chart](../results/fake.svg)');
      const once = replaceSection('# Title\n\nkept text\n', section);
      expect(once).toContain('kept text');
      expect(once).toContain(BEGIN);
      const twice = replaceSection(`${once}\nafter\n`, 'new body');
      expect(twice).toContain('kept text');
      expect(twice).toContain('after');
      expect(twice).toContain(`${BEGIN}\n\nnew body\n\n${END}`);
      expect(twice).not.toContain('### fake');
      expect(ordered([{ ...r, scenario: 'b' }, { ...r, scenario: 'z' }, { ...r, scenario: 'a' }], ['z']).map((x) => x.scenario)).toEqual(['z', 'a', 'b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('user modules and peers', () => {
  it('loads a short-form module (events generator + store options) into a full report', async () => {
    const s = await loadUserScenario(path.join(here, 'fixtures/my-scenario.mjs'));
    expect(s.name).toBe('orders-fixture');
    expect(s.default).toBe(false);
    const r = await quietRun(s, { events: '2000', partitions: '1' });
    const names = r.cases.map((c) => c.name);
    expect(names[0]).toBe('ringstore: orders-fixture workload');
    expect(names).toContain('floor: JSON.stringify + encodeInto loop');
    expect(names).toContain('peer: plain-array ring, drop-oldest');
    const subject = r.cases[0];
    expect(subject.error).toBeUndefined();
    expect(subject.rounds).toBe(3);
    expect(subject.refRatio).toBeGreaterThan(0);
    const redis = r.cases.find((c) => c.name.startsWith('peer: Redis'));
    expect(redis?.skipped).toBe('no redis-server binary on PATH');
  });
  it('loads a full scenario exported as "scenario"', async () => {
    const s = await loadUserScenario(path.join(here, 'fixtures/full-scenario.mjs'));
    const r = await quietRun(s);
    expect(r.cases.find((c) => c.name === 'subject')?.ratio).toBe(2);
  });
  it('rejects a module without a scenario', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rs-harness-mod-'));
    try {
      writeFileSync(path.join(dir, 'bad.mjs'), 'export const x = 1;\n');
      await expect(loadUserScenario(path.join(dir, 'bad.mjs'))).rejects.toThrow(/export a scenario/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(fromUserScenario({ name: 'n', events: () => [] }).name).toBe('n');
  });
  it('finds binaries on a PATH and skips Redis cleanly without one', async () => {
    expect(findBinary('node', path.dirname(process.execPath))).toBe(process.execPath);
    expect(findBinary('surely-not-a-binary-here', path.dirname(process.execPath))).toBeNull();
    const m = new RedisManager(null);
    expect(await m.get()).toBe('no redis-server binary on PATH');
    await m.stop();
  });
  it('draws Zipf-skewed keys reproducibly', () => {
    const a = zipf(100, 1.1, 3);
    const b = zipf(100, 1.1, 3);
    const counts = new Array(100).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const k = a();
      expect(b()).toBe(k);
      counts[k]++;
    }
    expect(counts[0]).toBeGreaterThan(counts[1]);
    expect(counts[1]).toBeGreaterThan(counts[50]);
    expect(counts[0] / 20_000).toBeGreaterThan(0.15);
  });
});

describe('profile runs', () => {
  it("under clinic, worker threads' copies of its sampler write beside the main thread's trace", () => {
    const env: Record<string, string> = { NODE_CLINIC_DOCTOR_DATA_PATH: '/p/.clinic', NODE_CLINIC_BUBBLEPROF_DATA_PATH: '/q', OTHER: 'x' };
    keepThreadsOffClinicTrace(env);
    expect(env).toEqual({ NODE_CLINIC_DOCTOR_DATA_PATH: '/p/.clinic/worker-threads', NODE_CLINIC_BUBBLEPROF_DATA_PATH: '/q/worker-threads', OTHER: 'x' });
    const none: Record<string, string> = {};
    keepThreadsOffClinicTrace(none);
    expect(none).toEqual({});
  });
  it('a profiled run is good only when it wrote its result and no case failed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rs-profile-run-'));
    try {
      expect(failedRun(dir, 'fake')).toBe('the run wrote no result');
      const r = await quietRun(fake, {}, true);
      writeResult(path.join(dir, 'results'), r);
      expect(failedRun(dir, 'fake')).toBeNull();
      const broken = await quietRun({ ...fake, cases: () => [{ name: 'subject', role: 'subject', run: () => { throw new Error('invalid execArgv'); } }] });
      writeResult(path.join(dir, 'results'), broken);
      expect(failedRun(dir, 'fake')).toBe('1 case(s) failed under the profiler: subject: Error: invalid execArgv');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('targets', () => {
  it('says met, MISSED, or not measured beside the row, and only adds the column when a case has a target', async () => {
    const targets: Record<string, Target> = {
      subject: { text: '>= 2x', met: (x) => x.ratio >= 2 },
      queries: { text: '>= 3x', met: (x) => x.ratio >= 3 },
      flaky: { text: 'any', met: () => true },
    };
    const withTarget: Scenario = {
      ...fake,
      async cases(ctx) {
        return (await fake.cases(ctx)).map((c) => (targets[c.name] ? { ...c, target: targets[c.name] } : c));
      },
    };
    const r = await quietRun(withTarget);
    const by = Object.fromEntries(r.cases.map((c) => [c.name, c]));
    expect(by.subject.target).toEqual({ text: '>= 2x', met: true });
    expect(by.queries.target).toEqual({ text: '>= 3x', met: false });
    expect(by.flaky.target).toEqual({ text: 'any', met: null });
    const text = formatScenario(r);
    expect(text).toContain('| target (this run) |');
    expect(text).toMatch(/\| subject \| subject \|.*\| >= 2x: met \|/);
    expect(text).toMatch(/\| queries .*\| >= 3x: MISSED \|/);
    expect(text).toMatch(/\| flaky .*\| any: not measured \|/);
    expect(formatScenario(await quietRun(fake))).not.toContain('target');
  });
  it('notes the CPU per operation when a case measures it', async () => {
    const r = await quietRun({ ...fake, cases: () => [{ name: 'server', role: 'subject', run: () => ({ ops: 10, ms: 1, cpuUsPerOp: { main: 2, process: 3 } }) }] });
    expect(r.cases[0].cpuUsPerOp).toEqual({ main: 2, process: 3 });
    expect(formatScenario(r)).toContain('- server: CPU per event: 2.00 µs main thread, 3.00 µs whole process (median of rounds)');
  });
});

describe('profile summaries', () => {
  it('ranks functions by self time and allocation sites by bytes', () => {
    const frame = (functionName: string, line: number) => ({ functionName, url: 'file:///x/dist/src/a.js', lineNumber: line });
    const cpu = {
      startTime: 0, endTime: 100_000,
      nodes: [
        { id: 1, callFrame: frame('(root)', 0), hitCount: 0 },
        { id: 2, callFrame: frame('hot', 9), hitCount: 75 },
        { id: 3, callFrame: frame('cold', 19), hitCount: 25 },
      ],
    };
    const top = topSelfTime(cpu);
    expect(top.map((h) => [h.name, h.share, h.where])).toEqual([['hot', 0.75, 'dist/src/a.js:10'], ['cold', 0.25, 'dist/src/a.js:20']]);
    expect(top[0].amount).toBeCloseTo(75);
    const heap = { head: { callFrame: frame('', 0), selfSize: 0, children: [{ callFrame: frame('alloc', 4), selfSize: 3072, children: [{ callFrame: frame('alloc', 4), selfSize: 1024, children: [] }] }] } };
    const allocs = topAllocations(heap);
    expect(allocs).toEqual([{ name: 'alloc', where: 'dist/src/a.js:5', share: 1, amount: 4096 }]);
    expect(formatHot('t', allocs, 'bytes')).toContain('100.0%      4 KiB  alloc  dist/src/a.js:5');
  });
});

describe('package wiring', () => {
  it('the CLI entries delegate to the harness', () => {
    const bench = readFileSync(path.join(here, '../../src/cli/bench.ts'), 'utf8');
    const profile = readFileSync(path.join(here, '../../src/cli/profile.ts'), 'utf8');
    expect(bench).toContain('bench/harness/bench-cli.js');
    expect(profile).toContain('bench/harness/profile-cli.js');
  });
});
