// The options partition workers start with: profilers' flags must never make
// EventStore.create fail, and per-thread profilers must profile the workers.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { workerExecArgv } from '../dist/src/partition/worker-exec-argv.js';

const ENTRY = new URL('../dist/src/index.js', import.meta.url).href;
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rs-execargv-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A script that creates a 2-partition store, appends, queries and closes. */
const APP = `
import { EventStore } from '${ENTRY}';
const store = EventStore.create({ partitions: 2, capacity: 1024, key: 'k' });
for (let i = 0; i < 100; i++) await store.append({ k: 'k' + (i % 5), i });
console.log('count', await store.count());
await store.close();
`;

/** `new Worker` accepts the list (throws ERR_WORKER_INVALID_EXEC_ARGV otherwise). */
async function workerAccepts(execArgv: string[]): Promise<void> {
  const w = new Worker('process.exit(0)', { eval: true, execArgv, stdout: true, stderr: true });
  await new Promise((resolve) => w.on('exit', resolve));
}

describe('workerExecArgv', () => {
  it('drops what profilers pass that Worker refuses (process-wide flags), keeps per-thread ones', async () => {
    expect(workerExecArgv([])).toEqual([]);
    // clinic flame / 0x, node --prof
    const flame = ['--prof', '--logfile=./%p-v8.log', '--print-opt-source'];
    expect(workerExecArgv(flame)).toEqual([]);
    await expect(workerAccepts(flame)).rejects.toThrow(/invalid execArgv flags: --prof, --logfile=.\/%p-v8.log, --print-opt-source/);
    expect(workerExecArgv(['-r', '/dev/null', '--perf-basic-prof', '--max-old-space-size=100', '--title', 'x'])).toEqual(['-r', '/dev/null']);
    const cpu = ['--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--heap-prof', '--heap-prof-dir=/tmp/h', '--enable-source-maps', '--conditions=dev'];
    expect(workerExecArgv(cpu)).toEqual(cpu);
  });

  it('keeps only per-thread options, with their values, when the parent runs a string', async () => {
    const argv = [
      '--input-type=module', '--prof', '--logfile=./%p-v8.log', '--print-opt-source', '--cpu-prof', '--cpu-prof-dir', '/tmp/p',
      '--max-old-space-size=100', '--title', 'x', '-r', '/dev/null', '--conditions=dev', '--enable-source-maps', '-e', '-1 + 1',
    ];
    const out = workerExecArgv(argv);
    expect(out).toEqual(['--cpu-prof', '--cpu-prof-dir', '/tmp/p', '-r', '/dev/null', '--conditions=dev', '--enable-source-maps']);
    await workerAccepts(out);
  });

  it('drops every eval form and its code, separate or joined', () => {
    expect(workerExecArgv(['--input-type', 'module', '--eval', '--cpu-prof'])).toEqual([]);
    expect(workerExecArgv(['--print=1', '--heap-prof'])).toEqual(['--heap-prof']);
    expect(workerExecArgv(['-p', '2', '--trace-warnings'])).toEqual(['--trace-warnings']);
  });
});

describe('a store under profiler flags', () => {
  it('node --prof --logfile --print-opt-source (what clinic flame and 0x pass) runs an app', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'app.mjs'), APP);
    const r = spawnSync(process.execPath, ['--prof', '--logfile=./%p-v8.log', '--print-opt-source', 'app.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/invalid execArgv/);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('count 100');
    // V8 writes one tick log per isolate: the main thread's and each partition worker's
    expect(readdirSync(dir).filter((f) => f.endsWith('-v8.log')).length).toBeGreaterThanOrEqual(3);
  });

  it('node --cpu-prof profiles the partition workers too, from a file and from --input-type=module -e', () => {
    for (const fromString of [false, true]) {
      const dir = tempDir();
      const prof = path.join(dir, 'prof');
      writeFileSync(path.join(dir, 'app.mjs'), APP);
      const args = fromString ? ['--input-type=module', '--prof', '--cpu-prof', '--cpu-prof-dir', prof, '-e', APP] : ['--cpu-prof', '--cpu-prof-dir', prof, 'app.mjs'];
      const out = execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(out).toContain('count 100');
      const threads = new Set(readdirSync(prof).map((f) => f.split('.').at(-3)));
      expect(threads.has('0')).toBe(true); // main thread
      expect(threads.size).toBeGreaterThanOrEqual(3); // + 2 partition workers
    }
  });
});
