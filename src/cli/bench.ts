/**
 * `ringstore bench [scenario...]`: the profiling harness's benchmark runner.
 * The harness lives in bench/harness (separate from the library); this entry
 * only hands it the arguments.
 */
export async function run(argv: string[]): Promise<number> {
  const { runBench } = await import('../../bench/harness/bench-cli.js');
  return runBench(argv);
}
