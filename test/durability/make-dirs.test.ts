// Making the data directory: every level made once, so a directory the filesystem will not create fails with
// its error instead of spinning. Node 20's mkdirSync(dir, { recursive: true }) loops for ever at 100% CPU on
// /proc/x (mkdir answers ENOENT although /proc exists), and `ringstore serve --data-dir /proc/x` hung before
// it answered anything, so the end-to-end cases run in a child process with a time limit.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeDirs } from '../../dist/src/durability/make-dirs.js';
import { tmpDir } from './helpers.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const INDEX = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url));
const hasProc = existsSync('/proc/self');

describe('makeDirs', () => {
  it('makes missing parents, accepts an existing directory, refuses a file in the way', () => {
    const root = tmpDir();
    const deep = join(root, 'a', 'b', 'c');
    makeDirs(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    makeDirs(deep);
    makeDirs(join(root, 'a'));
    writeFileSync(join(root, 'file'), 'x');
    expect(() => makeDirs(join(root, 'file'))).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => makeDirs(join(root, 'file', 'below'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it.runIf(hasProc)('a directory the filesystem will not make (/proc/x) throws ENOENT at once', () => {
    expect(() => makeDirs('/proc/ringstore-no-such-dir/deeper')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe.runIf(hasProc)('a data directory that cannot be made, end to end (child processes, 20 s limit)', () => {
  it('EventStore.open rejects with RS_ERR_IO naming the directory', () => {
    const script = `import(${JSON.stringify(INDEX)}).then(async ({ EventStore }) => {
      try { await EventStore.open({ partitions: 1, durability: { dir: '/proc/ringstore-nope' } }); console.log('opened'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
    });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(r.signal, `hung: ${r.stderr}`).toBeNull();
    const out = JSON.parse(r.stdout.trim()) as { code: string; message: string };
    expect(out.code).toBe('RS_ERR_IO');
    expect(out.message).toContain('/proc/ringstore-nope');
  });

  it('MetricStore.open and the streams\' LmdbBackend throw typed errors naming the path', () => {
    const streams = fileURLToPath(new URL('../../dist/src/streams/index.js', import.meta.url));
    const script = `const { MetricStore } = await import(${JSON.stringify(INDEX)});
      const { LmdbBackend } = await import(${JSON.stringify(streams)});
      const out = [];
      try { await MetricStore.open({ capacity: 10, durability: { dir: '/proc/ringstore-nope-m' } }); out.push('opened'); } catch (e) { out.push(e.code + ' ' + e.message); }
      try { new LmdbBackend({ path: '/proc/ringstore-nope-lmdb' }); out.push('opened'); } catch (e) { out.push(e.code + ' ' + e.message); }
      try { new LmdbBackend({ path: '/proc/ringstore-nope-dir/streams.mdb' }); out.push('opened'); } catch (e) { out.push(e.code + ' ' + e.message); }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(r.signal, `hung: ${r.stderr}`).toBeNull();
    const [metric, lmdb, file] = JSON.parse(r.stdout.trim()) as string[];
    expect(metric).toMatch(/^RS_ERR_IO .*\/proc\/ringstore-nope-m/);
    expect(lmdb).toMatch(/^RS_ERR_STORE_BACKEND .*\/proc\/ringstore-nope-lmdb/);
    expect(file).toMatch(/^RS_ERR_STORE_BACKEND .*\/proc\/ringstore-nope-dir/);
  });

  it('ringstore serve --data-dir exits 1 with the error instead of hanging', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', '/proc/ringstore-nope', '--log-level', 'silent'], { timeout: 20_000, encoding: 'utf8' });
    expect(r.signal, `hung: ${r.stderr}`).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/proc/ringstore-nope');
  });
});
