// The soak's verdict (bench/soak/analysis.ts) on made-up runs, and a short end-to-end run of `npm run soak`.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judge, theilSen, type SoakSample } from '../../dist/bench/soak/analysis.js';
import { classify, growth, parseSmaps, rssByClass } from '../../dist/bench/soak/smaps.js';

/** A run of `n` 10 s samples; rss/heap/p99 as functions of the minute. */
function run(n: number, rss: (m: number, i: number) => number, heap: (m: number, i: number) => number = () => 80, p99: (m: number) => number = () => 20, errors = 0, workers: (m: number) => number = () => 50): SoakSample[] {
  return Array.from({ length: n }, (_, i) => {
    const t = (i + 1) * 10;
    const w = workers(t / 60);
    return {
      t, rssMB: rss(t / 60, i), heapUsedMB: heap(t / 60, i), p50: 1, p99: p99(t / 60), requests: 3000, errors: i === n - 1 ? errors : 0, sseEvents: 10, subscribers: 20, lagP99: 10,
      healthP99: 5, workerHeapMB: w, threads: { main: heap(t / 60, i), 'streams-p0': w }, keys: 40000, heapTotalMB: 200, externalMB: 3, arrayBuffersMB: 130, mappings: {},
    };
  });
}

describe('soak verdict', () => {
  it('Theil–Sen: the slope of a line, unmoved by a few outliers', () => {
    const x = Array.from({ length: 50 }, (_, i) => i);
    expect(theilSen(x, x.map((v) => 3 * v + 7))).toBeCloseTo(3);
    const y = x.map((v) => 2 * v);
    y[10] = 1e6;
    y[30] = -1e6;
    expect(theilSen(x, y)).toBeCloseTo(2);
    expect(theilSen([1], [1])).toBeNaN();
  });

  it('flat memory with a GC saw-tooth passes; a leak of 2 MB/min over 30 minutes fails', () => {
    const sawtooth = (_m: number, i: number): number => 300 + (i % 6) * 15; // 75 MB teeth, no trend
    const flat = judge(run(180, sawtooth, (_m, i) => 90 + (i % 4) * 20));
    expect(flat.failures).toEqual([]);
    expect(flat.ok).toBe(true);
    expect(Math.abs(flat.rssSlope)).toBeLessThan(1);
    const leak = judge(run(180, (m, i) => sawtooth(m, i) + 2 * m));
    expect(leak.ok).toBe(false);
    expect(leak.rssSlope).toBeCloseTo(2, 0);
    expect(leak.failures[0]).toMatch(/RSS grows 2\.\d+ MB\/min/);
    // growth that stops once the rings are full (first half) is bounded
    expect(judge(run(180, (m) => 200 + 400 * Math.min(m, 10))).ok).toBe(true);
    expect(judge(run(180, () => 300, (m) => 80 + 5 * m)).failures[0]).toMatch(/heap grows/);
    // a partition worker's heap is judged too: the main thread's metrics do not see it
    const workerLeak = judge(run(180, () => 300, undefined, undefined, 0, (m) => 50 + 3 * m));
    expect(workerLeak.workerHeapSlope).toBeCloseTo(3, 0);
    expect(workerLeak.failures).toEqual([expect.stringMatching(/partition workers' heaps grow 3\.\d+ MB\/min/)]);
  });

  it('p99 that drifts up fails; failed requests fail; too few samples fail', () => {
    expect(judge(run(60, () => 300, undefined, (m) => 20 + 30 * m)).failures.join()).toMatch(/p99 drifts/);
    expect(judge(run(60, () => 300, undefined, (m) => (m > 9 ? 45 : 20))).ok).toBe(true); // within 2x + 10 ms
    expect(judge(run(60, () => 300, undefined, undefined, 3)).failures).toEqual(['3 of 180000 requests failed (5xx or no answer)']);
    expect(judge(run(3, () => 300)).failures[0]).toMatch(/only 3 samples/);
  });
});

describe('soak: RSS by mapping (/proc/PID/smaps)', () => {
  const smaps = (arenaKB: number, anonKB: number): string => [
    '55d0c0a00000-55d0c0c00000 rw-p 00000000 00:00 0                          [heap]', 'Size: 2048 kB', 'Rss:                 600 kB',
    '7f06b4000000-7f06b5fc5000 rw-p 00000000 00:00 0 ', 'Size: 32532 kB', `Rss:               ${arenaKB} kB`,
    '7f06b5fc5000-7f06b8000000 ---p 00000000 00:00 0 ', 'Rss:                   0 kB',
    '152905c0000-152906a2000 rw-p 00000000 00:00 0 ', `Rss:               ${anonKB} kB`,
    '7f06c0000000-7f06c0100000 r-xp 00000000 08:01 1234                       /usr/bin/node', 'Rss:                1024 kB',
    '',
  ].join('\n');

  it('parses mappings, tells arenas, the main arena, other anonymous memory and files apart, and lists what grew', () => {
    const a = parseSmaps(smaps(10 * 1024, 0));
    expect(a).toHaveLength(5);
    expect(a.map(classify)).toEqual(['malloc main arena ([heap])', 'anon at 64 MiB (malloc thread arena)', 'anon (V8 heaps, buffers, large mallocs)', 'anon (V8 heaps, buffers, large mallocs)', 'file']);
    expect(rssByClass(a)['anon at 64 MiB (malloc thread arena)']).toBe(10);
    const b = parseSmaps(smaps(20 * 1024, 904));
    const g = growth(a, b);
    expect(g.map((x) => [x.kind, x.fromMB, x.toMB])).toEqual([['anon at 64 MiB (malloc thread arena)', 10, 20], ['anon (V8 heaps, buffers, large mallocs)', 0, 904 / 1024]]);
    expect(g[0].mapping).toBe('7f06b4000000-7f06b5fc5000 rw-p 31.8 MiB');
  });
});

describe('npm run soak (a short run)', () => {
  it('drives the daemon, samples it and writes soak.json, soak.svg and soak.md', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rs-soak-'));
    try {
      const main = new URL('../../dist/bench/soak/main.js', import.meta.url).pathname;
      const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
        const child = execFile(process.execPath, [main, '--minutes', '0.25', '--sample-seconds', '3', '--rate', '150', '--subscribers', '5', '--names', '500', '--out', out], { timeout: 60_000 }, (err, so) => resolve({ code: child.exitCode ?? (err ? 1 : 0), stdout: so }));
      });
      // The verdict of 15 s means little (and the core's heap growth may fail it): the run itself must work.
      expect([0, 1], stdout).toContain(code);
      const report = JSON.parse(readFileSync(join(out, 'soak.json'), 'utf8')) as { samples: SoakSample[]; verdict: { ok: boolean; failures: string[] } };
      expect(report.samples.length).toBeGreaterThanOrEqual(4);
      expect(report.verdict.ok).toBe(code === 0);
      for (const s of report.samples) {
        expect(s.requests).toBeGreaterThan(100);
        expect(s.errors, 'requests failed').toBe(0);
        expect(s.rssMB).toBeGreaterThan(20);
        expect(s.heapUsedMB).toBeGreaterThan(1);
        expect(Object.keys(s.threads).sort()).toEqual(['main', 'metrics-p0', 'metrics-p1', 'streams-p0', 'streams-p1']);
        expect(s.workerHeapMB).toBeGreaterThan(4);
        expect(s.healthP99).toBeGreaterThan(0);
        expect(s.keys, 'the warm-up wrote to every name of the pool: 500 streams and 500 labels').toBe(1000);
        expect(s.mappings['file']).toBeGreaterThan(1);
        expect(s.p99).toBeGreaterThan(0);
      }
      expect(report.samples.reduce((n, s) => n + s.sseEvents, 0)).toBeGreaterThan(0);
      expect(readFileSync(join(out, 'soak.svg'), 'utf8')).toMatch(/^<svg[^]*<polyline[^]*<\/svg>\n$/);
      expect(existsSync(join(out, 'soak.md'))).toBe(true);
      expect(stdout).toMatch(/soak: (passed|FAILED)/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('drives a durable daemon (--data-dir) once it is ready: no warm-up request meets its startup gate', async () => {
    // The startup gate answers /health while the stores restore, 503 to the rest, then the port is refused for a
    // moment: a soak that began on /health lost 1,460 warm-up requests and stopped (2026-12-06).
    const out = mkdtempSync(join(tmpdir(), 'rs-soak-'));
    const data = mkdtempSync(join(tmpdir(), 'rs-soak-data-'));
    try {
      const main = new URL('../../dist/bench/soak/main.js', import.meta.url).pathname;
      const args = [main, '--minutes', '0.2', '--sample-seconds', '3', '--rate', '100', '--subscribers', '2', '--names', '500', '--out', out, '--', '--data-dir', data];
      const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, args, { timeout: 60_000 }, (err, so, se) => resolve({ code: child.exitCode ?? (err ? 1 : 0), stdout: so, stderr: se }));
      });
      expect(stderr).not.toMatch(/warm-up failed/);
      expect([0, 1], `${stdout}\n${stderr}`).toContain(code);
      const report = JSON.parse(readFileSync(join(out, 'soak.json'), 'utf8')) as { samples: SoakSample[] };
      expect(report.samples.length).toBeGreaterThanOrEqual(4);
      for (const s of report.samples) expect(s.errors, 'requests failed').toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(data, { recursive: true, force: true });
    }
  });
});
