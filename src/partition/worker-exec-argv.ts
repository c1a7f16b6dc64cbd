/**
 * The Node options a partition worker starts with.
 *
 * `new Worker(file)` without `execArgv` inherits the parent's options the way
 * Node intends: process-wide options (V8's `--prof`, `--logfile`,
 * `--max-old-space-size`, Node's `--title`, …) already act on every thread,
 * and per-thread ones (`--cpu-prof`, `--heap-prof`, `-r`, `--import`, …)
 * are applied to the worker. That is what profilers rely on (`node --prof`,
 * clinic, 0x: V8 writes one log per isolate, `--cpu-prof` one profile per
 * thread). An explicit `execArgv` list, by contrast, is validated and any
 * process-wide option in it makes `new Worker` throw
 * `ERR_WORKER_INVALID_EXEC_ARGV`.
 *
 * So workers inherit, except when the parent runs code given as a string
 * (`-e`, `-p`, `--input-type=module`): `--input-type` makes a worker started
 * from a file fail at boot. Then the list is explicit and keeps only the
 * per-thread options below; the process-wide ones still reach the workers,
 * since they act on the whole process.
 */

/** Options that take the code as their value. */
const EVAL_FLAGS = new Set(['-e', '--eval', '-p', '--print']);

/** Per-thread options an explicit list keeps (all accepted by `new Worker`, checked on Node 20). */
const PER_THREAD = new Set([
  '--cpu-prof', '--cpu-prof-dir', '--cpu-prof-name', '--cpu-prof-interval',
  '--heap-prof', '--heap-prof-dir', '--heap-prof-name', '--heap-prof-interval',
  '-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions',
  '--enable-source-maps', '--no-warnings', '--trace-warnings', '--disable-warning', '--no-deprecation',
  '--trace-deprecation', '--throw-deprecation', '--pending-deprecation', '--unhandled-rejections',
  '--trace-uncaught', '--diagnostic-dir',
]);

function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}

/** True when `argv` runs code from a string (`-e`, `-p`, `--input-type`). */
function runsStringInput(argv: readonly string[]): boolean {
  return argv.some((a) => EVAL_FLAGS.has(flagName(a)) || flagName(a) === '--input-type');
}

/**
 * The `execArgv` of a partition worker, given the parent's (default
 * `process.execArgv`): `undefined` (inherit, Node's default) unless the
 * parent runs code from a string; then the parent's per-thread options, each
 * with its value.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] | undefined {
  if (!runsStringInput(argv)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const name = flagName(arg);
    // In execArgv a word that is not an option is the value of the option before it.
    const valueFollows = arg === name && i + 1 < argv.length && (EVAL_FLAGS.has(name) || !argv[i + 1].startsWith('-'));
    if (PER_THREAD.has(name)) out.push(arg);
    if (valueFollows) {
      i++;
      if (PER_THREAD.has(name)) out.push(argv[i]);
    }
  }
  return out;
}
