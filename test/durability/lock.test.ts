// The data-directory lock, across real processes: a second process gets a clear error naming the holder;
// after kill -9 of the holder the next lock succeeds at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDataDir, readLockInfo, type DataDirLock } from '../../dist/src/durability/index.js';
import { tmpDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/lock-child.mjs', import.meta.url));
const children: ChildProcess[] = [];
const locks: DataDirLock[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(locks.splice(0).map((l) => l.release()));
});

/** Runs the child; resolves with its first stdout line (parsed) and the process. */
function child(dir: string, action: 'hold' | 'try', method = 'auto'): Promise<{ line: Record<string, unknown>; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [CHILD, dir, action, method], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the lock child did not answer within 10 s')), 10_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ line: JSON.parse(out.slice(0, nl)) as Record<string, unknown>, proc });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (!out.includes('\n')) reject(new Error(`the lock child exited with ${code} before answering`));
    });
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', () => resolve())));
}

async function lock(dir: string, method?: 'socket' | 'file'): Promise<DataDirLock> {
  const l = await lockDataDir(dir, method ? { method } : {});
  locks.push(l);
  return l;
}

describe('data-directory lock (abstract socket)', () => {
  it('a second process gets RS_ERR_DATA_DIR_LOCKED naming pid and host; after kill -9 the next lock succeeds at once', async () => {
    const dir = tmpDir();
    const holder = await child(dir, 'hold');
    expect(holder.line).toEqual({ locked: true, method: 'socket' });
    const pid = holder.proc.pid!;
    await expect(lockDataDir(dir)).rejects.toMatchObject({
      code: 'RS_ERR_DATA_DIR_LOCKED',
      message: expect.stringContaining(`data directory ${dir} is in use by pid ${pid} (host ${hostname()}`),
    });
    const other = await child(dir, 'try');
    expect(other.line).toMatchObject({ code: 'RS_ERR_DATA_DIR_LOCKED', message: expect.stringContaining(`pid ${pid}`) });

    holder.proc.kill('SIGKILL');
    await exited(holder.proc);
    const t0 = performance.now();
    const mine = await lock(dir);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(mine.method).toBe('socket');
    expect(readLockInfo(dir)).toMatchObject({ pid: process.pid, host: hostname() }); // the stale LOCK was replaced
    expect(mine.stillNamed()).toBe(true);
  });

  it('holds per thread: a second lock in the same process is refused; release frees it and removes LOCK', async () => {
    const dir = tmpDir();
    const first = await lock(dir);
    await expect(lockDataDir(dir)).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
    await first.release();
    await first.release(); // idempotent
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const other = await child(dir, 'try');
    expect(other.line).toEqual({ locked: true, method: 'socket' });
    await exited(other.proc); // it released before exiting
    await lock(dir);
  });

  it('two directories are independent', async () => {
    await lock(tmpDir());
    await lock(tmpDir());
  });
});

describe('data-directory lock (LOCK file fallback)', () => {
  it('refuses while the holder lives, takes over a LOCK left by a dead process', async () => {
    const dir = tmpDir();
    const holder = await child(dir, 'hold', 'file');
    expect(holder.line).toEqual({ locked: true, method: 'file' });
    await expect(lockDataDir(dir, { method: 'file' })).rejects.toMatchObject({
      code: 'RS_ERR_DATA_DIR_LOCKED',
      message: expect.stringContaining(`pid ${holder.proc.pid} (host ${hostname()}`),
    });
    holder.proc.kill('SIGKILL');
    await exited(holder.proc);
    const mine = await lock(dir, 'file');
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, method: 'file' });
    await mine.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('an unreadable LOCK is not taken over: the message says which file to remove', async () => {
    const dir = tmpDir();
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    await expect(lockDataDir(dir, { method: 'file' })).rejects.toMatchObject({
      code: 'RS_ERR_DATA_DIR_LOCKED',
      message: expect.stringContaining(`remove that file`),
    });
  });

  it('validates its input', async () => {
    await expect(lockDataDir('')).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    await expect(lockDataDir(tmpDir(), { method: 'flock' as 'file' })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
  });
});
