// `ringstore profile` with every tool on one small scenario (the append
// scenario: partition workers and a producer thread): each writes its report,
// and no case of the profiled run fails (partition workers start under the
// profilers' Node flags). About a minute: clinic analyses each run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const out = mkdtempSync(path.join(tmpdir(), 'rs-profile-tools-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const TINY = ['--rounds', '1', '--warmup', '0', '--events', '2000', '--capacity', '4096', '--partitions', '2', '--producers', '1'];

function profile(tool: string, args: readonly string[] = ['append', ...TINY]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'profile', ...args, '--tool', tool, '--out', out, '--timeout', '150'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (c: Buffer): void => {
      output = (output + c.toString()).slice(-20_000); // clinic can print megabytes
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)).filter((f) => statSync(f).isFile());
}

/** The folder `ringstore profile` made for `tool` (one per tool in this test). */
function folderOf(tool: string): string {
  const [name] = readdirSync(out).filter((d) => d.startsWith(`append-${tool}-`));
  return path.join(out, name);
}

/** Threads with a profile: "pid.tid" from Node's CPU./Heap.<date>.<time>.<pid>.<tid>.<seq>.<ext> names. */
function threads(files: string[], ext: string): Set<string> {
  return new Set(files.filter((f) => f.endsWith(ext)).map((f) => path.basename(f).split('.').slice(-4, -2).join('.')));
}

describe('ringstore profile, every tool, on the append scenario', () => {
  for (const tool of ['cpu-prof', 'heap-prof', 'flame', 'doctor', 'heapprofiler', 'bubbleprof']) {
    it(tool, async () => {
      const r = await profile(tool);
      expect(r.code, r.output).toBe(0);
      const dir = folderOf(tool);
      const files = filesUnder(dir);
      // the profiled run's own result: every ringstore case ran
      const result = JSON.parse(readFileSync(files.find((f) => f.endsWith(path.join('results', 'append.json')))!, 'utf8')) as { cases: { name: string; error?: string; rounds: number }[] };
      expect(result.cases.length).toBeGreaterThanOrEqual(2);
      for (const c of result.cases) {
        expect(c.error, c.name).toBeUndefined();
        expect(c.rounds, c.name).toBe(1);
      }
      if (tool === 'cpu-prof' || tool === 'heap-prof') {
        const ext = tool === 'cpu-prof' ? '.cpuprofile' : '.heapprofile';
        // the main thread, both partition workers and the producer thread
        expect(threads(files, ext).size, files.join('\n')).toBeGreaterThanOrEqual(4);
        expect(readFileSync(path.join(dir, 'summary.txt'), 'utf8')).toContain('worker thread');
      } else {
        expect(files.filter((f) => path.dirname(f) === dir && f.endsWith(`.clinic-${tool}.html`)), r.output).toHaveLength(1);
        expect(r.output).toMatch(new RegExp(`clinic ${tool} report: .*\\.html`));
        // clinic analysed a clean trace (worker threads' copies of its sampler write elsewhere) and did not fall back
        expect(r.output).not.toMatch(/falling back|decoding error|Decoded message is not valid/);
      }
    }, 200_000);
  }

  it('a profiled run that dies by a signal under clinic is run once more, not given up for the fallback', async () => {
    // A user scenario that crashes its first run the way bubbleprof's hooks sometimes crash one (SIGSEGV).
    const dir = mkdtempSync(path.join(out, 'crash-once-'));
    const marker = path.join(dir, 'crashed');
    const mod = path.join(dir, 'crash-once.mjs');
    writeFileSync(
      mod,
      `import { existsSync, writeFileSync } from 'node:fs';
export default {
  name: 'crashonce',
  events: (n) => Array.from({ length: n }, (_, i) => ({ k: 'k' + (i % 7), i })),
  store: { key: 'k' },
  workload: async (store, events) => {
    if (!existsSync(${JSON.stringify(marker)})) { writeFileSync(${JSON.stringify(marker)}, ''); process.kill(process.pid, 'SIGSEGV'); }
    for (const e of events) while (!store.tryAppend(e)) await new Promise((r) => setImmediate(r));
    await store.flush();
    return events.length;
  },
};
`,
    );
    const r = await profile('heapprofiler', ['crashonce', '--module', mod, '--rounds', '1', '--warmup', '0', '--events', '500']);
    expect(existsSync(marker)).toBe(true);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/clinic heapprofiler exited with \d+; trying again \(2 of 4\)/);
    expect(r.output).toMatch(/clinic heapprofiler report: .*\.html/);
    expect(r.output).not.toMatch(/falling back/);
  }, 200_000);
});
