/**
 * `ringstore profile <scenario>`: clinic (doctor, flame, bubbleprof,
 * heapprofiler) or Node's --cpu-prof/--heap-prof around a benchmark scenario.
 * The harness lives in bench/harness; this entry only hands it the arguments.
 */
export async function run(argv: string[]): Promise<number> {
  const { runProfile } = await import('../../bench/harness/profile-cli.js');
  return runProfile(argv);
}
