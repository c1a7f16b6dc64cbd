/**
 * The file operations the durable log, checkpoints and `meta.json` use, as an
 * interface: {@link nodeIo} does them with Node's synchronous `fs` calls (the
 * partition worker's thread is the one that should block), and
 * `FaultIo` (fault-io.ts) simulates a disk that fills up, fails, or loses
 * power, for tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeDirs } from './make-dirs.js';

/** How a file is opened: Node's flag strings, restricted to the ones used. */
export type OpenFlags = 'r' | 'r+' | 'a' | 'ax' | 'wx' | 'w';

/** Synchronous file operations. Errors are Node-style: an `Error` with `code` (`ENOSPC`, `EIO`, ...). */
export interface Io {
  /** Opens a file; `a`/`ax`/`wx`/`w` create it (mode 0o644). */
  open(file: string, flags: OpenFlags): number;
  close(fd: number): void;
  /** Writes at the end (append fds) or the current position; returns bytes written, which may be short. */
  writev(fd: number, parts: readonly Uint8Array[]): number;
  /** Reads up to `length` bytes at `position` into `buf[offset..]`; returns bytes read. */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** Size of an open file. */
  size(fd: number): number;
  fdatasync(fd: number): void;
  ftruncate(fd: number, length: number): void;
  rename(from: string, to: string): void;
  unlink(file: string): void;
  /** Names in a directory (files only matter; order unspecified). */
  readdir(dir: string): string[];
  /** Makes the directory's entries (creations, renames, unlinks) durable. */
  fsyncDir(dir: string): void;
  /** Creates a directory and its parents if missing. */
  mkdirp(dir: string): void;
  /** True when the path exists. */
  exists(file: string): boolean;
}

/** The real thing: Node's synchronous fs calls. */
export const nodeIo: Io = {
  open: (file, flags) => fs.openSync(file, flags, 0o644),
  close: (fd) => fs.closeSync(fd),
  writev: (fd, parts) => fs.writevSync(fd, parts as Uint8Array[]),
  read: (fd, buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
  size: (fd) => fs.fstatSync(fd).size,
  fdatasync: (fd) => fs.fdatasyncSync(fd),
  ftruncate: (fd, length) => fs.ftruncateSync(fd, length),
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (file) => fs.unlinkSync(file),
  readdir: (dir) => fs.readdirSync(dir),
  fsyncDir: (dir) => {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  mkdirp: (dir) => makeDirs(dir),
  exists: (file) => fs.existsSync(file),
};

/** A Node-style system error (what fs calls throw), for the fault layer and short counts. */
export function systemError(code: string, syscall: string, file?: string): NodeJS.ErrnoException {
  const errno: Record<string, number> = { ENOSPC: -28, EIO: -5, ENOENT: -2, EEXIST: -17, EBADF: -9, EISDIR: -21 };
  const e: NodeJS.ErrnoException = new Error(`${code}: ${syscall}${file ? ` '${file}'` : ''}`);
  e.code = code;
  e.errno = errno[code];
  e.syscall = syscall;
  if (file) e.path = file;
  return e;
}

/** The parts after the first `skip` bytes of `parts` (views, no copy). */
export function dropPrefix(parts: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (skip >= p.byteLength) {
      skip -= p.byteLength;
      continue;
    }
    out.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}

/**
 * Writes all of `parts` (`total` bytes) or throws. A short count from libuv
 * means an error stopped the write after some progress (it loops over
 * partial writes and drops the errno), so the rest is tried once to learn
 * the error; a second short count is reported as ENOSPC.
 */
export function writeAll(io: Io, fd: number, parts: readonly Uint8Array[], total: number): void {
  const n = io.writev(fd, parts);
  if (n >= total) return;
  const m = io.writev(fd, dropPrefix(parts, n));
  if (n + m < total) throw systemError('ENOSPC', 'write');
}

/** Reads a whole file, or null when it does not exist. */
export function readWhole(io: Io, file: string): Uint8Array | null {
  let fd: number;
  try {
    fd = io.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return readAll(io, fd, new Uint8Array(io.size(fd)));
  } finally {
    io.close(fd);
  }
}

/** Fills `buf` from the start of the open file (short when the file is shorter). */
export function readAll(io: Io, fd: number, buf: Uint8Array): Uint8Array {
  let at = 0;
  while (at < buf.byteLength) {
    const n = io.read(fd, buf, at, buf.byteLength - at, at);
    if (n === 0) break;
    at += n;
  }
  return buf.subarray(0, at);
}

/**
 * Replaces `file` atomically and durably: temp file, write, fdatasync,
 * rename, directory fsync (Postgres `durable_rename`). A crash at any point
 * leaves the old file or the new one, never a mix; a leftover `.tmp` is
 * harmless.
 */
export function writeFileDurably(io: Io, file: string, parts: readonly Uint8Array[]): void {
  const tmp = `${file}.tmp`;
  const fd = io.open(tmp, 'w');
  let total = 0;
  for (const p of parts) total += p.byteLength;
  try {
    writeAll(io, fd, parts, total);
    io.fdatasync(fd);
  } catch (err) {
    closeQuietly(io, fd);
    unlinkQuietly(io, tmp);
    throw err;
  }
  io.close(fd);
  io.rename(tmp, file);
  io.fsyncDir(path.dirname(file));
}

/** Closes, ignoring errors (cleanup paths). */
export function closeQuietly(io: Io, fd: number): void {
  try {
    io.close(fd);
  } catch {
    // already failing; the first error is the one reported
  }
}

/** Unlinks, ignoring errors (cleanup paths). */
export function unlinkQuietly(io: Io, file: string): void {
  try {
    io.unlink(file);
  } catch {
    // already failing; the first error is the one reported
  }
}
