/**
 * The Node options a partition worker starts with: the parent's per-thread
 * options, and nothing else.
 *
 * `new Worker` validates an explicit `execArgv` and throws
 * `ERR_WORKER_INVALID_EXEC_ARGV` for any process-wide option in it: V8's
 * (`--prof`, `--logfile`, `--print-opt-source`, `--max-old-space-size`, which
 * clinic flame, 0x and `node --prof` pass) and Node's (`--title`, …). Those
 * need not be passed: they already act on every thread of the process (V8
 * writes one `--prof` log per isolate). Per-thread options are passed, so
 * `--cpu-prof` and `--heap-prof` profile each worker too, and `-r`/`--import`
 * preloads and `--conditions` apply there as in the main thread.
 *
 * The list is explicit rather than inherited (Node's default) for two
 * reasons: code given as a string (`-e`, `-p`, `--input-type=module`) must
 * not reach a worker started from a file (`--input-type` makes it fail at
 * boot), and preloads that profilers put in `NODE_OPTIONS` (clinic doctor's
 * and bubbleprof's samplers, written for the main thread, which corrupt their
 * trace when every thread runs them) stay out of the workers: with an
 * explicit list and no `env`, a worker does not read `NODE_OPTIONS`.
 */

/** Per-thread options passed on (all accepted by `new Worker`, checked on Node 20). */
const PER_THREAD = new Set([
  '--cpu-prof', '--cpu-prof-dir', '--cpu-prof-name', '--cpu-prof-interval',
  '--heap-prof', '--heap-prof-dir', '--heap-prof-name', '--heap-prof-interval',
  '-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions',
  '--enable-source-maps', '--no-warnings', '--trace-warnings', '--disable-warning', '--no-deprecation',
  '--trace-deprecation', '--throw-deprecation', '--pending-deprecation', '--unhandled-rejections',
  '--trace-uncaught', '--diagnostic-dir',
]);

/** Options whose value (the code) may look like an option: always consume it. */
const EVAL_FLAGS = new Set(['-e', '--eval', '-p', '--print']);

function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}

/**
 * The `execArgv` of a partition worker, given the parent's (default
 * `process.execArgv`): its per-thread options, each with its value.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
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
