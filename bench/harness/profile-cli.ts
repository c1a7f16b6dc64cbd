/**
 * `ringstore profile <scenario>`: runs the scenario's ringstore cases (the
 * same definitions as `ringstore bench`, via `bench <scenario>
 * --subjects-only`) under a clinic tool and writes the HTML report into a
 * folder it names. A clinic run that exits with an error is tried once more.
 * When clinic is missing, still fails, runs past --timeout or
 * writes more than 1 GiB of trace data (bubbleprof on Node 20 does), it falls
 * back to Node's own `--cpu-prof` (or `--heap-prof` for heapprofiler), says
 * so, and prints the hottest functions. The run writes its bench result into
 * the folder too; a case that failed under the profiler fails the command.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProfileArgs, PROFILE_TOOLS, UsageError, type ProfileArgs, type ProfileTool } from './args.js';
import { formatHot, topAllocations, topSelfTime, type CpuProfile, type HeapProfile } from './profile-summary.js';
import { readResults } from './report.js';
import { SCENARIOS } from './scenarios/index.js';
import { loadUserScenario } from './user-module.js';

/** Runs of a clinic tool before falling back, when the profiled process dies (not for time or size). */
const CLINIC_TRIES = 4;

const MAX_TRACE_BYTES = 1 << 30;
const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export function profileHelp(): string {
  return [
    'usage: ringstore profile <scenario> [--tool T] [--out DIR] [--timeout S] [--module FILE] [--<param> <value>...]',
    '',
    "Profiles a scenario's ringstore cases (ringstore bench <scenario> --subjects-only) and writes the report",
    'into <out>/<scenario>-<tool>-<time>/ (default out: .clinic).',
    '',
    `  --tool T      ${PROFILE_TOOLS.join(' | ')} (default flame)`,
    '                clinic doctor, flame, heapprofiler work on Node 20 here; bubbleprof floods its trace',
    '                files and falls back to --cpu-prof; cpu-prof / heap-prof use Node directly.',
    '  --timeout S   give up on a clinic run after S seconds and fall back (default 180; per try)',
    '  --rounds N, --warmup N and scenario parameters are passed to the run (default --rounds 2 --warmup 1)',
    '',
  ].join('\n');
}

export function folderName(scenario: string, tool: string, at: Date): string {
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `${scenario}-${tool}-${stamp}`;
}

/** Bytes under `dir` (0 for what vanished while walking: clinic moves its files around). */
function dirBytes(dir: string): number {
  let n = 0;
  try {
    for (const f of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      n += f.isDirectory() ? dirBytes(p) : statSync(p).size;
    }
  } catch {
    return n;
  }
  return n;
}

function findFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, f.name);
    if (f.isDirectory()) out.push(...findFiles(p, suffix));
    else if (f.name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

/** Runs a command in its own process group; kills the group on timeout or when `dir` grows past the limit. */
function runGuarded(cmd: string, args: string[], env: NodeJS.ProcessEnv, dir: string, timeoutSec: number): Promise<{ code: number | null; why: string | null }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    let why: string | null = null;
    const kill = (reason: string): void => {
      if (why !== null || child.pid === undefined) return;
      why = reason;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill(`still running after ${timeoutSec} s`), timeoutSec * 1000);
    const watch = setInterval(() => {
      const bytes = dirBytes(dir);
      if (bytes > MAX_TRACE_BYTES) kill(`wrote ${(bytes / 2 ** 30).toFixed(1)} GiB of trace data`);
    }, 2000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearInterval(watch);
      resolve({ code, why });
    });
  });
}

function clinicBin(): string | null {
  try {
    return createRequire(import.meta.url).resolve('clinic/bin.js');
  } catch {
    return null;
  }
}

/** The bench run's arguments, writing its result into `<dir>/results`. */
function benchRun(run: readonly string[], dir: string): string[] {
  return [...run, '--out', path.join(dir, 'results')];
}

/**
 * Why the profiled run is not a good profile: no result written, or cases
 * that failed (each with its error); null when every case ran.
 */
export function failedRun(dir: string, scenario: string): string | null {
  const r = readResults(path.join(dir, 'results')).find((x) => x.scenario === scenario);
  if (r === undefined) return 'the run wrote no result';
  if (r.pending !== undefined) return `the scenario is pending: ${r.pending}`;
  const failed = r.cases.filter((c) => c.error !== undefined);
  return failed.length === 0 ? null : `${failed.length} case(s) failed under the profiler: ${failed.map((c) => `${c.name}: ${c.error}`).join('; ')}`;
}

async function nodeProfile(kind: 'cpu-prof' | 'heap-prof', dir: string, run: string[], scenario: string): Promise<number> {
  const flags = kind === 'cpu-prof' ? ['--cpu-prof', '--cpu-prof-dir', dir] : ['--heap-prof', '--heap-prof-dir', dir];
  const r = await runGuarded(process.execPath, [...flags, MAIN_JS, ...benchRun(run, dir)], process.env, dir, 3600);
  const failed = r.code === 0 ? failedRun(dir, scenario) : `exited with ${r.code}${r.why ? ` (${r.why})` : ''}`;
  if (failed !== null) {
    process.stderr.write(`ringstore profile: node --${kind} run: ${failed}\n`);
    return 1;
  }
  const suffix = kind === 'cpu-prof' ? '.cpuprofile' : '.heapprofile';
  const files = findFiles(dir, suffix);
  let text = '';
  for (const f of files) {
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
    const [pid, tid] = path.basename(f).split('.').slice(-4, -2);
    const thread = `process ${pid}, ${tid === '0' ? 'main thread' : `worker thread ${tid}`}`;
    const json = JSON.parse(readFileSync(f, 'utf8')) as CpuProfile & HeapProfile;
    text += kind === 'cpu-prof'
      ? formatHot(`${path.basename(f)} (${thread}): functions by self time`, topSelfTime(json, 12), 'ms')
      : formatHot(`${path.basename(f)} (${thread}): allocation sites by sampled bytes`, topAllocations(json, 12), 'bytes');
    text += '\n';
  }
  writeFileSync(path.join(dir, 'summary.txt'), text);
  process.stdout.write(`${text}profiles: ${files.length} file(s) in ${dir} (open a ${suffix} in Chrome DevTools (${kind === 'cpu-prof' ? 'Performance' : 'Memory'}) or VS Code); summary in ${path.join(dir, 'summary.txt')}\n`);
  return 0;
}

export async function runProfile(argv: string[]): Promise<number> {
  let args: ProfileArgs;
  try {
    args = parseProfileArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ringstore profile: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(profileHelp());
    return 0;
  }
  const user = await Promise.all(args.modules.map((m) => loadUserScenario(m)));
  const scenario = args.scenario!;
  if (![...user, ...SCENARIOS].some((s) => s.name === scenario)) {
    process.stderr.write(`ringstore profile: unknown scenario "${scenario}" (known: ${[...SCENARIOS, ...user].map((s) => s.name).join(', ')})\n`);
    return 2;
  }
  const dir = path.resolve(args.out, folderName(scenario, args.tool, new Date()));
  mkdirSync(dir, { recursive: true });
  const pass = [...args.passThrough];
  if (!pass.includes('--rounds')) pass.push('--rounds', '2');
  if (!pass.includes('--warmup')) pass.push('--warmup', '1');
  const run = ['bench', scenario, '--subjects-only', ...pass];
  process.stderr.write(`ringstore profile: ${args.tool} around "ringstore ${run.join(' ')}" -> ${dir}\n`);
  const tool: ProfileTool = args.tool;
  if (tool === 'cpu-prof' || tool === 'heap-prof') return nodeProfile(tool, dir, run, scenario);
  const fallback = tool === 'heapprofiler' ? 'heap-prof' : 'cpu-prof';
  const bin = clinicBin();
  if (bin === null) {
    process.stderr.write(`ringstore profile: clinic is not installed (npm i -D clinic); falling back to node --${fallback}\n`);
    return nodeProfile(fallback, dir, run, scenario);
  }
  const env = { ...process.env, NO_INSIGHT: '1' };
  const clinicArgs = [bin, tool, '--open=false', '--dest', dir, '--', process.execPath, MAIN_JS, ...benchRun(run, dir)];
  let r = await runGuarded(process.execPath, clinicArgs, env, dir, args.timeoutSec);
  for (let attempt = 2; attempt <= CLINIC_TRIES && r.code !== 0 && r.why === null; attempt++) {
    // The profiled process sometimes dies under clinic's instrumentation (bubbleprof's async
    // hooks crashed it with SIGSEGV in 1 of 12 runs here, and twice in a row in a CI run): more tries before
    // falling back. A run killed for its time or trace size (r.why) would only do the same again.
    process.stderr.write(`ringstore profile: clinic ${tool} exited with ${r.code}; trying again (${attempt} of ${CLINIC_TRIES})\n`);
    // Into an empty folder: the failed try's trace would count toward the size cap, and its leftovers be read as this one's.
    for (const f of readdirSync(dir)) rmSync(path.join(dir, f), { recursive: true, force: true });
    r = await runGuarded(process.execPath, clinicArgs, env, dir, args.timeoutSec);
  }
  const html = findFiles(dir, '.html');
  if (r.code === 0 && html.length > 0) {
    const failed = failedRun(dir, scenario);
    if (failed !== null) {
      process.stderr.write(`ringstore profile: clinic ${tool} wrote ${html.join(', ')}, but of a broken run: ${failed}\n`);
      return 1;
    }
    process.stdout.write(`clinic ${tool} report: ${html.join(', ')}\n`);
    return 0;
  }
  const why = r.why ?? (r.code !== 0 ? `exited with ${r.code}` : 'wrote no HTML report');
  process.stderr.write(`ringstore profile: clinic ${tool} could not run here (${why}); falling back to node --${fallback}\n`);
  const fb = path.join(dir, `fallback-${fallback}`);
  mkdirSync(fb, { recursive: true });
  return nodeProfile(fallback, fb, run, scenario);
}
