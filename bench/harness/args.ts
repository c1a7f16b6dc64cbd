/** Command-line parsing of `ringstore bench` and `ringstore profile`. Pure: no I/O. */
import type { Params, ParamSpec, Scenario } from './types.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface BenchArgs {
  scenarios: string[];
  rounds: number;
  warmup: number;
  modules: string[];
  /** Directory of the JSON and SVG results. */
  out: string;
  write: boolean;
  /** Markdown file whose generated section is rewritten from the results in `out`. */
  docs: string | null;
  /** Only rewrite `docs` from existing results; run nothing. */
  reportOnly: boolean;
  list: boolean;
  help: boolean;
  subjectsOnly: boolean;
  quiet: boolean;
  /** `--name value` pairs not known to the harness: scenario parameters. */
  params: Record<string, string>;
}

const BENCH_DEFAULTS = { rounds: 3, warmup: 1, out: 'bench/results' };

function intFlag(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} needs an integer >= ${min}, got ${v ?? 'nothing'}`);
  return n;
}

/** Splits `--name=value` and `--name value`; returns [name, value, consumed]. */
function takeValue(argv: readonly string[], i: number): [string, string | undefined, number] {
  const a = argv[i].slice(2);
  const eq = a.indexOf('=');
  if (eq >= 0) return [a.slice(0, eq), a.slice(eq + 1), 1];
  const next = argv[i + 1];
  return [a, next !== undefined && !next.startsWith('--') ? next : undefined, next !== undefined && !next.startsWith('--') ? 2 : 1];
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = {
    scenarios: [], rounds: BENCH_DEFAULTS.rounds, warmup: BENCH_DEFAULTS.warmup, modules: [], out: BENCH_DEFAULTS.out,
    write: true, docs: null, reportOnly: false, list: false, help: false, subjectsOnly: false, quiet: false, params: {},
  };
  const booleans: Record<string, () => void> = {
    'no-write': () => (out.write = false),
    'report-only': () => (out.reportOnly = true),
    list: () => (out.list = true),
    help: () => (out.help = true),
    'subjects-only': () => (out.subjectsOnly = true),
    quiet: () => (out.quiet = true),
  };
  for (let i = 0; i < argv.length; ) {
    const a = argv[i];
    if (a === '-h') {
      out.help = true;
      i++;
      continue;
    }
    if (!a.startsWith('--')) {
      out.scenarios.push(a);
      i++;
      continue;
    }
    const bare = a.slice(2);
    if (booleans[bare] !== undefined) {
      booleans[bare]();
      i++;
      continue;
    }
    const [name, value, used] = takeValue(argv, i);
    i += used;
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    switch (name) {
      case 'rounds': out.rounds = intFlag(name, value, 1); break;
      case 'warmup': out.warmup = intFlag(name, value, 0); break;
      case 'module': out.modules.push(value); break;
      case 'out': out.out = value; break;
      case 'docs': out.docs = value; break;
      default: out.params[name] = value;
    }
  }
  if (out.reportOnly && out.docs === null) throw new UsageError('--report-only needs --docs FILE');
  return out;
}

/**
 * Resolves a scenario's parameters: defaults, overridden by the given raw
 * values it declares. Numbers must parse as finite numbers.
 */
export function resolveParams(specs: Record<string, ParamSpec>, raw: Record<string, string>): Params {
  const out: Params = {};
  for (const [name, spec] of Object.entries(specs)) {
    const v = raw[name];
    if (v === undefined) {
      out[name] = spec.default;
    } else if (typeof spec.default === 'number') {
      const n = Number(v.replace(/_/g, ''));
      if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} needs a number, got ${v}`);
      // A positive default is a count, size, duration, fraction or exponent: 0 or below ran and reported
      // rates of nothing. (A user scenario's parameter with another default takes any finite number.)
      if (spec.default > 0 && n <= 0) throw new UsageError(`--${name} needs a positive number, got ${v}`);
      if (spec.max !== undefined && n > spec.max) throw new UsageError(`--${name} needs a number at most ${spec.max}, got ${v}`);
      out[name] = n;
    } else {
      out[name] = v;
    }
  }
  return out;
}

/** Parameters given on the command line that none of the selected scenarios declares. */
export function unknownParams(scenarios: readonly Scenario[], raw: Record<string, string>): string[] {
  return Object.keys(raw).filter((k) => !scenarios.some((s) => k in s.params));
}

/** `"1,2,4"` -> `[1, 2, 4]` (positive integers, deduplicated, in order). */
export function intList(v: number | string, name: string): number[] {
  const parts = String(v).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const out: number[] = [];
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} needs positive integers separated by commas, got ${String(v)}`);
    if (!out.includes(n)) out.push(n);
  }
  if (out.length === 0) throw new UsageError(`--${name} is empty`);
  return out;
}

export interface ProfileArgs {
  scenario: string | null;
  tool: ProfileTool;
  out: string;
  timeoutSec: number;
  modules: string[];
  help: boolean;
  /** Passed on to the scenario run (its parameters, --rounds, --warmup). */
  passThrough: string[];
}

export const PROFILE_TOOLS = ['doctor', 'flame', 'bubbleprof', 'heapprofiler', 'cpu-prof', 'heap-prof'] as const;
export type ProfileTool = (typeof PROFILE_TOOLS)[number];

export function parseProfileArgs(argv: readonly string[]): ProfileArgs {
  const out: ProfileArgs = { scenario: null, tool: 'flame', out: '.clinic', timeoutSec: 180, modules: [], help: false, passThrough: [] };
  for (let i = 0; i < argv.length; ) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      out.help = true;
      i++;
      continue;
    }
    if (!a.startsWith('--')) {
      if (out.scenario !== null) throw new UsageError(`profile takes one scenario, got ${out.scenario} and ${a}`);
      out.scenario = a;
      i++;
      continue;
    }
    const [name, value, used] = takeValue(argv, i);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    i += used;
    switch (name) {
      case 'tool':
        if (!(PROFILE_TOOLS as readonly string[]).includes(value)) throw new UsageError(`--tool must be one of ${PROFILE_TOOLS.join(', ')}, got ${value}`);
        out.tool = value as ProfileTool;
        break;
      case 'out': out.out = value; break;
      case 'timeout': out.timeoutSec = intFlag(name, value, 1); break;
      case 'module': out.modules.push(value); out.passThrough.push('--module', value); break;
      default: out.passThrough.push(`--${name}`, value);
    }
  }
  if (!out.help && out.scenario === null) throw new UsageError('profile needs a scenario name (see ringstore bench --list)');
  return out;
}
