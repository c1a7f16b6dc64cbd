/**
 * An in-memory file system implementing {@link Io} that fails on command and
 * can lose power, for tests (after RocksDB's FaultInjectionTestFS and
 * SQLite's test6.c crash VFS).
 *
 * Model: a file is an inode with its current bytes (the page cache), its
 * synced bytes, and the writes and truncations since its last `fdatasync`. A
 * directory's entries become durable only at `fsyncDir` of that directory.
 * {@link FaultIo.crash} with power loss keeps, per file, the synced bytes
 * plus a random prefix of the later operations, tearing the next write at a
 * 512-byte sector boundary (its unwritten sectors either cut off or read as
 * zeros), and drops names that were created, renamed or removed since their
 * directory was last synced. Directories made by `mkdirp` are durable at once.
 */
import * as path from 'node:path';
import { systemError, type Io, type OpenFlags } from './io.js';

type Op = { kind: 'write'; offset: number; bytes: Uint8Array } | { kind: 'truncate'; size: number };

/** A growable byte range: a file's current bytes, or its synced ones. */
class Extent {
  data = new Uint8Array(0);
  size = 0;

  bytes(): Uint8Array {
    return this.data.subarray(0, this.size);
  }

  copy(): Extent {
    const e = new Extent();
    e.set(this.bytes());
    return e;
  }

  set(bytes: Uint8Array): void {
    this.size = 0;
    this.data = new Uint8Array(0);
    this.write(0, bytes);
  }

  apply(op: Op): void {
    if (op.kind === 'write') this.write(op.offset, op.bytes);
    else this.resize(op.size);
  }

  write(at: number, bytes: Uint8Array): void {
    const end = at + bytes.byteLength;
    this.reserve(end);
    if (at > this.size) this.data.fill(0, this.size, at);
    this.data.set(bytes, at);
    if (end > this.size) this.size = end;
  }

  resize(size: number): void {
    this.reserve(size);
    if (size > this.size) this.data.fill(0, this.size, size);
    this.size = size;
  }

  private reserve(size: number): void {
    if (size <= this.data.byteLength) return;
    const data = new Uint8Array(Math.max(size, this.data.byteLength * 2, 4096));
    data.set(this.bytes());
    this.data = data;
  }
}

interface Inode {
  current: Extent;
  synced: Extent;
  /** Operations since the last fdatasync, in order. */
  ops: Op[];
}

interface OpenFile {
  inode: Inode;
  file: string;
  append: boolean;
  writable: boolean;
  pos: number;
}

/** An injected write failure. `short`: half the bytes are written and the count returned, then the next write throws ENOSPC. */
export type WriteFault = 'short' | 'enospc' | 'eio';

/** What {@link FaultIo.crash} does with data and names not yet synced. */
export interface CrashOptions {
  /** `false` for a process crash (the page cache survives: nothing is lost). Default true. */
  powerLoss?: boolean;
  /** Unsynced operations kept: a random prefix (default), none, or all. */
  unsynced?: 'random' | 'drop' | 'keep';
  /** Seed of the random choices (default 1). */
  seed?: number;
}

const SECTOR = 512;

/** A small seeded PRNG (mulberry32), so a failing crash case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The fault-injecting, power-losing file system. See the module comment. */
export class FaultIo implements Io {
  private visible = new Map<string, Inode>();
  private durable = new Map<string, Inode>();
  private readonly dirs = new Set<string>(['/']);
  private fds = new Map<number, OpenFile>();
  private nextFd = 1000;
  private readonly writeFaults = new Map<number, WriteFault>();
  private readonly syncFaults = new Set<number>();
  private readonly truncateFaults = new Set<number>();
  private enospcNext = false;
  /** Write calls so far (each `writev`). */
  writes = 0;
  /** `fdatasync` calls so far. */
  syncs = 0;
  /** Directory fsyncs so far. */
  dirSyncs = 0;
  /** `ftruncate` calls so far. */
  truncates = 0;
  /** Total bytes the files may hold (like a small tmpfs); Infinity by default. */
  spaceLimit = Infinity;

  /** Makes the `n`th write call from now fail as `fault` (1 = the next one). */
  failWrite(n: number, fault: WriteFault): void {
    this.writeFaults.set(this.writes + n, fault);
  }

  /** Makes the `n`th `fdatasync` call from now throw EIO (1 = the next one). */
  failSync(n: number): void {
    this.syncFaults.add(this.syncs + n);
  }

  /** Makes the `n`th `ftruncate` call from now throw EIO, changing nothing (1 = the next one). */
  failTruncate(n: number): void {
    this.truncateFaults.add(this.truncates + n);
  }

  /** Bytes held by all files. */
  usedBytes(): number {
    let n = 0;
    for (const inode of new Set(this.visible.values())) n += inode.current.size;
    return n;
  }

  /** The current bytes of a file (tests inspect and damage files through this). */
  fileBytes(file: string): Uint8Array {
    const inode = this.visible.get(path.resolve(file));
    if (!inode) throw systemError('ENOENT', 'open', file);
    return inode.current.bytes();
  }

  /** Replaces a file's bytes, as synced (a test planting damage). */
  setFileBytes(file: string, bytes: Uint8Array): void {
    const inode = this.visible.get(path.resolve(file));
    if (!inode) throw systemError('ENOENT', 'open', file);
    inode.current.set(bytes);
    inode.synced.set(bytes);
    inode.ops = [];
  }

  open(file: string, flags: OpenFlags): number {
    const key = path.resolve(file);
    let inode = this.visible.get(key);
    if (inode && (flags === 'ax' || flags === 'wx')) throw systemError('EEXIST', 'open', file);
    if (!inode) {
      if (flags === 'r' || flags === 'r+') throw systemError('ENOENT', 'open', file);
      if (!this.dirs.has(path.dirname(key))) throw systemError('ENOENT', 'open', file);
      if (this.dirs.has(key)) throw systemError('EISDIR', 'open', file);
      inode = { current: new Extent(), synced: new Extent(), ops: [] };
      this.visible.set(key, inode);
    } else if (flags === 'w') {
      inode.current.resize(0);
      inode.ops.push({ kind: 'truncate', size: 0 });
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { inode, file: key, append: flags === 'a' || flags === 'ax', writable: flags !== 'r', pos: 0 });
    return fd;
  }

  close(fd: number): void {
    if (!this.fds.delete(fd)) throw systemError('EBADF', 'close');
  }

  writev(fd: number, parts: readonly Uint8Array[]): number {
    const f = this.file(fd, 'write');
    if (!f.writable) throw systemError('EBADF', 'write', f.file);
    const call = ++this.writes;
    const fault = this.writeFaults.get(call);
    this.writeFaults.delete(call);
    if (fault === 'eio') throw systemError('EIO', 'write', f.file);
    if (fault === 'enospc' || this.enospcNext) {
      this.enospcNext = false;
      throw systemError('ENOSPC', 'write', f.file);
    }
    let total = 0;
    for (const p of parts) total += p.byteLength;
    const at = f.append ? f.inode.current.size : f.pos;
    let n = total;
    if (fault === 'short') {
      n = total >> 1;
      this.enospcNext = true;
    }
    const growth = Math.max(0, at + n - f.inode.current.size);
    const room = this.spaceLimit - this.usedBytes();
    if (growth > room) {
      n = Math.max(0, f.inode.current.size + room - at);
      if (n <= 0) throw systemError('ENOSPC', 'write', f.file);
    }
    const bytes = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      if (o >= n) break;
      const take = Math.min(p.byteLength, n - o);
      bytes.set(p.subarray(0, take), o);
      o += take;
    }
    f.inode.current.write(at, bytes);
    f.inode.ops.push({ kind: 'write', offset: at, bytes });
    f.pos = at + n;
    return n;
  }

  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    const f = this.file(fd, 'read');
    const n = Math.max(0, Math.min(length, f.inode.current.size - position));
    buf.set(f.inode.current.data.subarray(position, position + n), offset);
    return n;
  }

  size(fd: number): number {
    return this.file(fd, 'fstat').inode.current.size;
  }

  fdatasync(fd: number): void {
    const f = this.file(fd, 'fdatasync');
    const call = ++this.syncs;
    if (this.syncFaults.delete(call)) throw systemError('EIO', 'fdatasync', f.file);
    for (const op of f.inode.ops) f.inode.synced.apply(op);
    f.inode.ops = [];
  }

  ftruncate(fd: number, length: number): void {
    const f = this.file(fd, 'ftruncate');
    if (!f.writable) throw systemError('EBADF', 'ftruncate', f.file);
    if (this.truncateFaults.delete(++this.truncates)) throw systemError('EIO', 'ftruncate', f.file);
    f.inode.current.resize(length);
    f.inode.ops.push({ kind: 'truncate', size: length });
  }

  rename(from: string, to: string): void {
    const a = path.resolve(from);
    const inode = this.visible.get(a);
    if (!inode) throw systemError('ENOENT', 'rename', from);
    if (!this.dirs.has(path.dirname(path.resolve(to)))) throw systemError('ENOENT', 'rename', to);
    this.visible.delete(a);
    this.visible.set(path.resolve(to), inode);
  }

  unlink(file: string): void {
    if (!this.visible.delete(path.resolve(file))) throw systemError('ENOENT', 'unlink', file);
  }

  readdir(dir: string): string[] {
    const d = path.resolve(dir);
    if (!this.dirs.has(d)) throw systemError('ENOENT', 'scandir', dir);
    const names: string[] = [];
    for (const key of this.visible.keys()) if (path.dirname(key) === d) names.push(path.basename(key));
    for (const sub of this.dirs) if (sub !== d && path.dirname(sub) === d) names.push(path.basename(sub));
    return names;
  }

  fsyncDir(dir: string): void {
    const d = path.resolve(dir);
    if (!this.dirs.has(d)) throw systemError('ENOENT', 'open', dir);
    this.dirSyncs++;
    for (const key of [...this.durable.keys()]) if (path.dirname(key) === d) this.durable.delete(key);
    for (const [key, inode] of this.visible) if (path.dirname(key) === d) this.durable.set(key, inode);
  }

  mkdirp(dir: string): void {
    for (let d = path.resolve(dir); !this.dirs.has(d); d = path.dirname(d)) this.dirs.add(d);
  }

  exists(file: string): boolean {
    const key = path.resolve(file);
    return this.visible.has(key) || this.dirs.has(key);
  }

  /**
   * Ends the simulated process: every fd is closed. With power loss (the
   * default), unsynced data and directory entries are lost as described in
   * the module comment. Returns, per surviving file, how many of its unsynced
   * operations were kept and whether the next one was torn.
   */
  crash(options: CrashOptions = {}): Map<string, { kept: number; of: number; torn: boolean }> {
    this.fds.clear();
    this.enospcNext = false;
    const summary = new Map<string, { kept: number; of: number; torn: boolean }>();
    if (options.powerLoss === false) return summary;
    const random = seededRandom(options.seed ?? 1);
    const mode = options.unsynced ?? 'random';
    const done = new Set<Inode>();
    for (const [key, inode] of [...this.durable].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (done.has(inode)) continue;
      done.add(inode);
      const of = inode.ops.length;
      const kept = mode === 'keep' ? of : mode === 'drop' ? 0 : Math.floor(random() * (of + 1));
      const result = inode.synced;
      for (let i = 0; i < kept; i++) result.apply(inode.ops[i]);
      let torn = false;
      const next = inode.ops[kept];
      if (mode === 'random' && next?.kind === 'write' && next.bytes.byteLength > 0) {
        torn = true;
        tear(result, next, random);
      }
      inode.current = result.copy();
      inode.ops = [];
      summary.set(key, { kept, of, torn });
    }
    this.visible = new Map(this.durable);
    return summary;
  }

  private file(fd: number, syscall: string): OpenFile {
    const f = this.fds.get(fd);
    if (!f) throw systemError('EBADF', syscall);
    return f;
  }
}

/** A torn write: whole sectors from its start are kept; the rest is cut off or reads as zeros. */
function tear(into: Extent, op: Extract<Op, { kind: 'write' }>, random: () => number): void {
  const end = op.offset + op.bytes.byteLength;
  const cuts = [op.offset];
  for (let b = (Math.floor(op.offset / SECTOR) + 1) * SECTOR; b < end; b += SECTOR) cuts.push(b);
  const cut = cuts[Math.floor(random() * cuts.length)];
  into.write(op.offset, op.bytes.subarray(0, cut - op.offset));
  if (random() < 0.5 && end > into.size) into.resize(end); // the size reached the disk, the data did not
}
