#!/usr/bin/env node
// `npm run test:fuzz -- [--requests N] [--seed S]`: the fuzzer of fuzz.test.ts for a long run, or to replay a seed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const usage = 'usage: npm run test:fuzz -- [--requests N (default 20000)] [--seed S (default: random, printed)]';
const env = { ...process.env, RINGSTORE_FUZZ_REQUESTS: '20000' };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--help' || arg === '-h') {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const [flag, inline] = arg.split('=', 2);
  const value = inline ?? args[++i];
  if ((flag !== '--requests' && flag !== '--seed') || value === undefined || !/^\d+$/.test(value)) {
    process.stderr.write(`bad argument "${arg}"${value !== undefined && inline === undefined ? ` "${value}"` : ''}\n${usage}\n`);
    process.exit(2);
  }
  env[flag === '--requests' ? 'RINGSTORE_FUZZ_REQUESTS' : 'RINGSTORE_FUZZ_SEED'] = value;
}
const root = fileURLToPath(new URL('../..', import.meta.url));
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
const r = spawnSync(process.execPath, [vitest, 'run', 'test/fuzz/fuzz.test.ts'], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
