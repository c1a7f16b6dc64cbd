/**
 * The data-directory lock: one process (one thread, in fact) per data
 * directory. Node has no flock without a native add-on, so the guard is a
 * Linux abstract-namespace Unix socket named from the directory's device and
 * inode: the kernel frees the name the moment the holder dies, `kill -9`
 * included, so there is no stale lock to wait out. A `LOCK` file beside the
 * data records the holder's pid, host and start time for humans and for the
 * error message.
 *
 * Where abstract sockets are unavailable (not Linux), the `LOCK` file itself
 * is the guard, created with `wx`; a `LOCK` left by a dead process on the
 * same host (its pid no longer exists) is taken over. Pid reuse can make a
 * stale file look live; the message then says which file to remove.
 *
 * The socket is scoped to the network namespace: two containers sharing a
 * volume do not see each other's sockets (they do see the `LOCK` file).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RingstoreError, invalidArgument } from '../errors.js';
import { openError } from './errors.js';
import { makeDirs } from './make-dirs.js';

/** How the lock is held. */
export type LockMethod = 'socket' | 'file';

/** What the `LOCK` file records. */
export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  method: LockMethod;
  /** Identifies this lock instance (several in one process stay apart). */
  token: string;
}

/** Options of {@link lockDataDir}. */
export interface DirLockOptions {
  /** `auto` (default): the socket on Linux, else the file. */
  method?: 'auto' | LockMethod;
}

/** The `LOCK` file of a data directory. */
export const LOCK_FILE = 'LOCK';

/** A held data-directory lock. Release it on close. */
export class DataDirLock {
  private released = false;

  constructor(
    /** The directory, resolved. */
    readonly dir: string,
    readonly method: LockMethod,
    /** What this holder wrote to `LOCK`. */
    readonly info: LockInfo,
    private readonly server: net.Server | null,
  ) {}

  /** True while `LOCK` still names this holder (a check worth running now and then, as Postgres does). */
  stillNamed(): boolean {
    return readLockInfo(this.dir)?.token === this.info.token;
  }

  /** Frees the lock and removes `LOCK` if it still names this holder. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.stillNamed()) {
      try {
        fs.unlinkSync(path.join(this.dir, LOCK_FILE));
      } catch {
        // gone already: nothing to free
      }
    }
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Takes the lock on `dir` (created if missing) for the calling thread.
 * Throws `RS_ERR_DATA_DIR_LOCKED` ("data directory D is in use by pid N
 * (host H)") when another process or thread holds it, `RS_ERR_IO` or
 * `RS_ERR_DISK_FULL` (naming `dir`) when it cannot be made or locked.
 */
export async function lockDataDir(dir: string, options: DirLockOptions = {}): Promise<DataDirLock> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('the data directory must be a non-empty string');
  const method = options.method ?? 'auto';
  if (method !== 'auto' && method !== 'socket' && method !== 'file') throw invalidArgument(`unknown lock method ${String(method)}`);
  const abs = path.resolve(dir);
  try {
    return await takeLock(abs, method);
  } catch (err) {
    throw openError(abs, err); // a file in the way, permissions, no space for LOCK: typed, naming the directory
  }
}

async function takeLock(abs: string, method: 'auto' | 'socket' | 'file'): Promise<DataDirLock> {
  makeDirs(abs);
  if (method === 'socket' || (method === 'auto' && process.platform === 'linux')) {
    const st = fs.statSync(abs);
    try {
      const server = await listenAbstract(`\0ringstore-datadir-${st.dev}-${st.ino}`);
      const info = lockInfo('socket');
      writeInfo(abs, info);
      return new DataDirLock(abs, 'socket', info, server);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw lockedError(abs, readLockInfo(abs));
      if (method === 'socket') throw err;
      // no abstract sockets here: fall back to the file
    }
  }
  return lockWithFile(abs);
}

/** The holder recorded in `dir/LOCK`, or null when missing or unreadable. */
export function readLockInfo(dir: string): LockInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockInfo;
    return typeof info.pid === 'number' && typeof info.host === 'string' ? info : null;
  } catch {
    return null;
  }
}

function lockInfo(method: LockMethod): LockInfo {
  return { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), method, token: randomBytes(8).toString('hex') };
}

function listenAbstract(name: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen({ path: name }, () => {
      server.off('error', reject);
      server.unref(); // the lock must not keep the process alive
      resolve(server);
    });
  });
}

/** Writes `LOCK` whole (temp then rename): readers never see half of it. */
function writeInfo(dir: string, info: LockInfo): void {
  const tmp = path.join(dir, `${LOCK_FILE}.${info.token}.tmp`);
  fs.writeFileSync(tmp, `${JSON.stringify(info)}\n`);
  fs.renameSync(tmp, path.join(dir, LOCK_FILE));
}

function lockWithFile(dir: string): DataDirLock {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = lockInfo('file');
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLockInfo(dir);
      if (holder && holder.host === os.hostname() && !isAlive(holder.pid)) {
        try {
          fs.unlinkSync(file); // left by a process that is gone
        } catch {
          // another contender removed it first; try again
        }
        continue;
      }
      throw lockedError(dir, holder);
    }
    try {
      fs.writeSync(fd, `${JSON.stringify(info)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return new DataDirLock(dir, 'file', info, null);
  }
  throw lockedError(dir, readLockInfo(dir));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(dir: string, holder: LockInfo | null): RingstoreError {
  const who = holder
    ? `pid ${holder.pid} (host ${holder.host}, since ${holder.startedAt})`
    : `another process (its ${path.join(dir, LOCK_FILE)} is missing or unreadable; if nothing uses the directory, remove that file)`;
  return new RingstoreError('RS_ERR_DATA_DIR_LOCKED', `data directory ${dir} is in use by ${who}`, {
    dir,
    pid: holder?.pid,
    host: holder?.host,
  });
}
