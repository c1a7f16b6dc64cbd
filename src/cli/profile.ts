/** `ringstore profile`: being built (see the open issues); replaced by its owner. */
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('ringstore profile: not available in this build yet\n');
  return 2;
}
