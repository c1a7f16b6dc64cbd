/** `ringstore bench [scenario...]`: runs scenarios, prints tables, writes JSON + SVG, regenerates the docs section. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseBenchArgs, resolveParams, unknownParams, UsageError, type BenchArgs } from './args.js';
import { renderDocsSection, replaceSection } from './docs.js';
import { Progress } from './progress.js';
import { findBinary, RedisManager } from './redis.js';
import { formatScenario, readResults, writeResult } from './report.js';
import { runScenario } from './runner.js';
import { SCENARIOS } from './scenarios/index.js';
import { renderSvg } from './svg.js';
import type { Scenario, ScenarioResult } from './types.js';
import { loadUserScenario } from './user-module.js';

export function benchHelp(scenarios: readonly Scenario[]): string {
  const lines = [
    'usage: ringstore bench [scenario...] [options] [--<param> <value>...]',
    '',
    'Runs each scenario (default: every scenario marked [default]) with a warm-up, then measured rounds in which',
    'ringstore and its peers and floors alternate; prints median, spread, ratios, latency and memory; writes',
    '<out>/<scenario>.json and .svg.',
    '',
    'options:',
    '  --rounds N        measured rounds (default 3)',
    '  --warmup N        warm-up rounds (default 1)',
    '  --module FILE     a user scenario module (repeatable); see docs/benchmarks.md',
    '  --out DIR         results directory (default bench/results)',
    '  --no-write        do not write results',
    '  --docs FILE       rewrite the generated section of FILE (e.g. docs/benchmarks.md) from the results in --out',
    '  --report-only     with --docs: only rewrite the docs, run nothing',
    '  --subjects-only   run only the ringstore cases (used by ringstore profile)',
    '  --quiet           no progress output',
    '  --list            list scenarios and their parameters',
    '',
    'scenarios:',
  ];
  for (const s of scenarios) {
    lines.push(`  ${s.name.padEnd(10)} ${s.title}${s.default ? ' [default]' : ''}`);
    for (const [k, p] of Object.entries(s.params)) lines.push(`      --${k.padEnd(12)} ${p.help} (default ${p.default})`);
  }
  return `${lines.join('\n')}\n`;
}

/** Rewrites the generated section of `--docs`; a file or results directory that cannot be read is a UsageError. */
function writeDocs(args: BenchArgs, order: readonly string[]): string {
  const file = args.docs!;
  let results: ReturnType<typeof readResults>;
  let doc: string;
  try {
    results = readResults(args.out);
    doc = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--docs ${file} (results in ${args.out}): ${(err as Error).message}`);
  }
  writeFileSync(file, replaceSection(doc, renderDocsSection(results, file, args.out, order)));
  return `${file}: generated section rewritten from ${results.length} result(s) in ${args.out}`;
}

function writePng(svgFile: string): string | null {
  const bin = findBinary('rsvg-convert');
  if (bin === null) return null;
  const png = svgFile.replace(/\.svg$/, '.png');
  const r = spawnSync(bin, ['-o', png, svgFile]);
  return r.status === 0 ? png : null;
}

/**
 * Under clinic doctor or bubbleprof (`ringstore profile`), every worker thread
 * also runs the tool's sampler, a NODE_OPTIONS preload written for the main
 * thread, and with the same pid it writes over the main thread's trace file
 * ("Decoded message is not valid"). Threads started after this call write
 * their copies into a subfolder, which the tool does not read.
 */
export function keepThreadsOffClinicTrace(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of ['NODE_CLINIC_DOCTOR_DATA_PATH', 'NODE_CLINIC_BUBBLEPROF_DATA_PATH']) {
    const dir = env[name];
    if (dir !== undefined && dir !== '') env[name] = path.join(dir, 'worker-threads');
  }
}

export async function runBench(argv: string[]): Promise<number> {
  keepThreadsOffClinicTrace();
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ringstore bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const user: Scenario[] = [];
  for (const m of args.modules) {
    try {
      user.push(await loadUserScenario(m));
    } catch (err) {
      process.stderr.write(`ringstore bench: --module ${m}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const all = [...SCENARIOS, ...user];
  if (args.help || args.list) {
    process.stdout.write(benchHelp(all));
    return 0;
  }
  const order = all.map((s) => s.name);
  if (args.reportOnly) {
    try {
      process.stdout.write(`${writeDocs(args, order)}\n`);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`ringstore bench: ${err.message}\n`);
      return 2;
    }
    return 0;
  }
  let selected: Scenario[];
  if (args.scenarios.length > 0) {
    selected = [];
    for (const name of args.scenarios) {
      const s = [...user, ...SCENARIOS].find((x) => x.name === name);
      if (s === undefined) {
        process.stderr.write(`ringstore bench: unknown scenario "${name}" (known: ${order.join(', ')})\n`);
        return 2;
      }
      selected.push(s);
    }
  } else {
    selected = [...SCENARIOS.filter((s) => s.default), ...user];
  }
  const unknown = unknownParams(selected, args.params);
  if (unknown.length > 0) {
    process.stderr.write(`ringstore bench: unknown option(s) ${unknown.map((u) => `--${u}`).join(', ')} for ${selected.map((s) => s.name).join(', ')} (see ringstore bench --list)\n`);
    return 2;
  }
  // Parameters that do not parse are usage errors, reported before anything runs (and whatever --quiet says).
  for (const s of selected) {
    try {
      resolveParams(s.params, args.params);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`ringstore bench: ${s.name}: ${err.message}\n`);
      return 2;
    }
  }
  let usage = false;
  const progress = new Progress(process.stderr, args.quiet);
  const redis = new RedisManager();
  const command = `node dist/src/cli/main.js bench ${argv.join(' ')}`.trim();
  const started = performance.now();
  let failed = 0;
  const results: ScenarioResult[] = [];
  try {
    for (const s of selected) {
      let r: ScenarioResult;
      try {
        r = await runScenario(s, { rounds: args.rounds, warmup: args.warmup, subjectsOnly: args.subjectsOnly, progress, redis, rawParams: args.params, command });
      } catch (err) {
        failed++;
        // A parameter a scenario refuses (`--keys 1000`, `--partitions 0`): its message, not a stack, even with --quiet.
        if (err instanceof UsageError) {
          usage = true;
          process.stderr.write(`ringstore bench: ${s.name}: ${err.message}\n`);
        } else progress.line(`${s.name}: failed: ${(err as Error).stack ?? String(err)}`);
        continue;
      }
      results.push(r);
      progress.clear();
      process.stdout.write(`${formatScenario(r)}\n`);
      if (r.cases.some((c) => c.error !== undefined)) failed++;
      if (args.write) {
        const json = writeResult(args.out, r);
        const svgFile = path.join(args.out, `${r.scenario}.svg`);
        writeFileSync(svgFile, renderSvg(r));
        const png = writePng(svgFile);
        progress.line(`wrote ${json}, ${svgFile}${png ? `, ${png}` : ' (no PNG: rsvg-convert not found)'}`);
      }
    }
  } finally {
    await redis.stop();
  }
  if (args.docs !== null && args.write) {
    try {
      progress.line(writeDocs(args, order));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      usage = true;
      process.stderr.write(`ringstore bench: ${err.message}\n`);
    }
  }
  const secs = ((performance.now() - started) / 1000).toFixed(0);
  process.stdout.write(`ringstore bench: ${results.length} scenario(s) in ${secs} s${failed ? `, ${failed} with errors` : ''}\n`);
  return usage ? 2 : failed > 0 ? 1 : 0;
}
