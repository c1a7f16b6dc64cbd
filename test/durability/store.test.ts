// Durable ring stores through the public API (issue 12): restarts, kill -9 under load, a crash between the
// log write and the commit point, torn and corrupt logs, the directory lock, bounded disk, full disk.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore, type EventStoreOptions, type StoredEvent } from '../../dist/src/index.js';

interface Ev {
  k: string;
  n: number;
  pad?: string;
}

const roots: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rs-durable-'));
  roots.push(d);
  return d;
}
const mounts: string[] = [];
afterAll(() => {
  for (const d of mounts) spawnSync('umount', [d]);
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

const base = (dir: string, extra: Partial<EventStoreOptions<Ev>['durability']> = {}): EventStoreOptions<Ev> => ({
  capacity: 4096, partitions: 2, key: 'k', values: { n: 'n' }, durability: { dir, fsync: 'always', ...extra },
});

const view = (e: StoredEvent<Ev>): unknown[] => [e.id, e.partition, e.position, e.version, e.key, e.payload];

describe('a durable store keeps what it acknowledged across restarts', () => {
  for (const fsync of ['always', 'interval', 'never'] as const) {
    it(`fsync ${fsync}: events, positions, versions, ids, counters; versions and idempotency continue`, async () => {
      const dir = tmp();
      let s = await EventStore.open<Ev>(base(dir, { fsync }));
      const first = await s.append({ k: 'a', n: 1 }, { id: 'x-1' });
      await s.append([{ k: 'a', n: 2 }, { k: 'a', n: 3 }], { expectedVersion: 1 });
      for (let i = 0; i < 3000; i++) s.tryAppend({ k: `c${i % 40}`, n: i });
      await s.flush();
      await s.purge({ olderThan: 0 }); // a purge frame that removes nothing
      const before = (await s.snapshot()).map(view);
      const stats = s.stats;
      await s.close();

      s = await EventStore.open<Ev>(base(dir, { fsync }));
      expect((await s.snapshot()).map(view)).toEqual(before);
      expect(s.stats).toMatchObject({ appended: stats.appended, live: stats.live, discarded: stats.discarded, rejected: stats.rejected });
      expect(await s.append({ k: 'a', n: 1 }, { id: 'x-1' })).toMatchObject({ duplicate: true, position: first.position, version: 1 });
      expect((await s.append({ k: 'a', n: 4 })).version).toBe(4);
      await expect(s.append({ k: 'a', n: 5 }, { expectedVersion: 3 })).rejects.toMatchObject({ code: 'RS_ERR_CONFLICT', actual: 4 });
      await s.close();
    });
  }

  it('keeps versions and ids of evicted events, and what clear() kept, across a restart from a checkpoint plus log', async () => {
    const dir = tmp();
    const opts = { ...base(dir), capacity: 8, partitions: 1 };
    let s = await EventStore.open<Ev>(opts);
    const r = await s.append({ k: 'old', n: 0 }, { id: 'evicted-id' });
    for (let i = 0; i < 50; i++) await s.append({ k: 'other', n: i });
    await s.clear();
    await s.append({ k: 'after', n: 1 });
    await s.close();
    s = await EventStore.open<Ev>(opts);
    expect(await s.append({ k: 'old', n: 0 }, { id: 'evicted-id' })).toMatchObject({ duplicate: true, position: r.position });
    expect((await s.append({ k: 'old', n: 1 })).version).toBe(2);
    expect((await s.append({ k: 'other', n: 99 })).version).toBe(51);
    expect((await s.snapshot()).map((e) => e.key)).toEqual(['after', 'old', 'other']);
    await s.close();
  });

  it('a worker that dies after writing a drain to the log but before its commit point: the drain counts once', async () => {
    const dir = tmp();
    let s = await EventStore.open<Ev>({ ...base(dir), partitions: 1 });
    await s.append({ k: 'a', n: 0 });
    const dying = s.crashPartition(0, { afterRecords: 3, afterLogWrite: true });
    const batch = await s.append(Array.from({ length: 5 }, (_, i) => ({ k: 'a', n: i + 1 })), { expectedVersion: 1 });
    await dying;
    expect(batch.map((r) => r.version)).toEqual([2, 3, 4, 5, 6]);
    const dies = s.crashPartition(0, { afterRecords: 2 }); // and one that dies before writing it
    const more = await s.append([{ k: 'a', n: 6 }, { k: 'a', n: 7 }], { expectedVersion: 6 });
    await dies;
    expect(more.map((r) => r.version)).toEqual([7, 8]);
    const live = (await s.snapshot()).map(view);
    await s.close();
    s = await EventStore.open<Ev>({ ...base(dir), partitions: 1 });
    expect((await s.snapshot()).map(view)).toEqual(live);
    expect(live.map((e) => (e[5] as Ev).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await s.close();
  });
});

describe('kill -9 under load', () => {
  const FIXTURE = fileURLToPath(new URL('../fixtures/durable-load.mjs', import.meta.url));
  const MIN_ACKS = 60;

  async function killRound(dir: string, fsync: string, ms: number, round: number): Promise<{ n: number; id: string; p: number; pos: number; v: number }[]> {
    const child = spawn(process.execPath, [FIXTURE, dir, fsync, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: { n: number; id: string; p: number; pos: number; v: number }[] = [];
    let buf = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let killed = false;
      // Killed at `ms` after ready, but not before MIN_ACKS acknowledgements: a loaded machine may ack few in `ms`.
      let due = false;
      let done = false;
      const kill = (): void => {
        if (done || !due || acks.length < MIN_ACKS) return;
        done = true;
        child.kill('SIGKILL');
        resolve();
      };
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (line.ready && !killed) {
            killed = true;
            setTimeout(() => {
              due = true;
              kill();
            }, ms);
          } else if (!line.ready) {
            acks.push(line);
            kill();
          }
        }
      });
      void exited.then(() => (killed ? resolve() : reject(new Error(`the child exited before it was killed: ${err}`))));
    });
    await exited;
    return acks;
  }

  for (const fsync of ['always', 'interval'] as const) {
    it(`fsync ${fsync}: every acknowledged event is back with its position, version and payload; no gap, no duplicate`, async () => {
      const dir = tmp();
      const acked = new Map<number, { id: string; p: number; pos: number; v: number }>();
      const rounds = [400 + Math.floor(Math.random() * 600), 200 + Math.floor(Math.random() * 400)];
      for (const [round, ms] of rounds.entries()) {
        for (const a of await killRound(dir, fsync, ms, round)) acked.set(a.n, a);
        const s = await EventStore.open<Ev>({ capacity: 200_000, partitions: 2, key: 'k', values: { n: 'n' }, maxProducers: 4, durability: { dir, fsync } });
        const events = await s.snapshot();
        const byN = new Map<number, StoredEvent<Ev>>();
        for (const e of events) {
          expect(byN.has(e.payload.n), `event ${e.payload.n} twice`).toBe(false);
          byN.set(e.payload.n, e);
        }
        for (const [n, a] of acked) {
          const e = byN.get(n);
          expect(e, `acknowledged event ${n} is missing`).toBeDefined();
          expect([e!.id, e!.partition, e!.position, e!.version]).toEqual([a.id, a.p, a.pos, a.v]);
        }
        // Positions are contiguous per partition, versions per key.
        for (const p of [0, 1]) {
          const pos = events.filter((e) => e.partition === p).map((e) => e.position).sort((x, y) => x - y);
          expect(pos).toEqual(pos.map((_, i) => pos[0] + i));
        }
        const versions = new Map<string, number[]>();
        for (const e of events) versions.set(e.key, [...(versions.get(e.key) ?? []), e.version]);
        for (const [, vs] of versions) expect(vs.sort((x, y) => x - y)).toEqual(vs.map((_, i) => i + 1));
        expect(acked.size).toBeGreaterThan(50);
        // Versions and ids continue.
        const retried = [...acked.entries()].filter(([, a]) => a.id.startsWith('id-')).slice(-3);
        expect(retried.length).toBeGreaterThan(0);
        for (const [i, [n, a]] of retried.entries()) {
          const k = `r${Math.floor(n / 1e8)}s${n % 17}`;
          expect(await s.append({ k, n }, { id: a.id })).toMatchObject({ duplicate: true, position: a.pos, version: a.v });
          // Another key: another event. The key is new each round: `retried` may hold an earlier round's ids
          // (when this round acknowledged fewer than 3), already used on the earlier round's key.
          expect((await s.append({ k: `x${round}`, n: -1 - round * 10 - i }, { id: a.id })).duplicate).toBe(false);
        }
        await s.close();
      }
    }, 120_000);
  }
});

describe('damaged logs, the lock, the geometry', () => {
  /** A store filled with 1,000 events by a process that is then killed (no clean close, no last checkpoint). */
  function filled(dir: string): void {
    const opts = { ...base(dir, { checkpointIntervalMs: 3_600_000, segmentBytes: 64 * 1024 }), partitions: 1 };
    const script = [
      `import { EventStore } from ${JSON.stringify(new URL('../../dist/src/index.js', import.meta.url).href)};`,
      `const s = await EventStore.open(${JSON.stringify(opts)});`,
      'for (let i = 0; i < 20; i++) await s.append(Array.from({ length: 50 }, (_, j) => ({ k: `k${j % 5}`, n: i * 50 + j })));',
      "process.kill(process.pid, 'SIGKILL');",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.signal, r.stderr).toBe('SIGKILL');
  }

  it('a torn tail is cut and logged; the store opens with what was complete', async () => {
    const dir = tmp();
    filled(dir);
    const logDir = path.join(dir, 'p0', 'log');
    const last = readdirSync(logDir).filter((f) => f.endsWith('.seg')).sort().pop()!;
    const file = path.join(logDir, last);
    const size = statSync(file).size;
    writeFileSync(file, readFileSync(file).subarray(0, size - 13)); // half of the last frame
    const s = await EventStore.open<Ev>({ ...base(dir), partitions: 1 });
    expect(s.restored[0]!.bytesTruncated).toBeGreaterThan(0);
    const ns = (await s.snapshot()).map((e) => e.payload.n);
    expect(ns).toEqual(ns.map((_, i) => i)); // a prefix, no gap
    expect(ns.length).toBeGreaterThan(0);
    await s.close();
  });

  it('corruption in the middle of the log refuses to open, naming the file and offset; repair cuts there', async () => {
    const dir = tmp();
    filled(dir);
    const logDir = path.join(dir, 'p0', 'log');
    const first = readdirSync(logDir).filter((f) => f.endsWith('.seg')).sort()[0];
    const file = path.join(logDir, first);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x40;
    writeFileSync(file, bytes);
    const err = await EventStore.open<Ev>({ ...base(dir), partitions: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RS_ERR_LOG_CORRUPT' });
    expect(String((err as Error).message)).toContain(first);
    const s = await EventStore.open<Ev>({ ...base(dir, { repair: true }), partitions: 1 });
    const ns = (await s.snapshot()).map((e) => e.payload.n);
    expect(ns).toEqual(ns.map((_, i) => i)); // what is kept is a prefix
    expect(readdirSync(logDir).some((f) => f.endsWith('.broken'))).toBe(true);
    await s.close();
  });

  it('a second open of the same directory fails clearly, in this process and in another; a changed partition count is refused', async () => {
    const dir = tmp();
    const s = await EventStore.open<Ev>(base(dir));
    await expect(EventStore.open<Ev>(base(dir))).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_LOCKED' });
    const entry = new URL('../../dist/src/index.js', import.meta.url).href;
    const other = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { EventStore } from '${entry}';
      EventStore.open({ partitions: 2, capacity: 4096, key: 'k', values: { n: 'n' }, durability: { dir: ${JSON.stringify(dir)} } })
        .then(() => console.log('opened'), (e) => console.log(e.code, e.message));`], { encoding: 'utf8', timeout: 30_000 });
    expect(other.stdout).toMatch(/^RS_ERR_DATA_DIR_LOCKED .*in use by pid \d+/);
    await s.close();
    await expect(EventStore.open<Ev>({ ...base(dir), partitions: 3 })).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_MISMATCH' });
    await expect(EventStore.open<Ev>({ ...base(dir), capacity: 8192 })).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_MISMATCH' });
    expect(() => EventStore.create<Ev>(base(dir))).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
    (await EventStore.open<Ev>(base(dir))).close();
  });
});

describe('bounded disk', () => {
  it('the segment count and bytes stay bounded while the ring wraps many times', async () => {
    const dir = tmp();
    const s = await EventStore.open<Ev>({ capacity: 1000, partitions: 1, key: 'k', values: { n: 'n' }, durability: { dir, fsync: 'never', segmentBytes: 32 * 1024, checkpointIntervalMs: 100 } });
    const pad = 'x'.repeat(100);
    let most = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 500; i++) s.tryAppend({ k: `k${i % 10}`, n: round * 500 + i, pad });
      await s.flush();
      await new Promise((r) => setTimeout(r, 30));
      const segs = readdirSync(path.join(dir, 'p0', 'log')).filter((f) => f.endsWith('.seg')).length;
      most = Math.max(most, segs);
    }
    // 20x the capacity went through; what stays is two checkpoints plus the log since the older one.
    expect(most).toBeLessThan(40);
    expect(readdirSync(path.join(dir, 'p0', 'checkpoints')).filter((f) => f.endsWith('.ckpt')).length).toBeLessThanOrEqual(2);
    await s.close();
  });

  // Until 2026-12-06 a checkpoint was written every checkpointIntervalMs whether or not anything had been
  // logged since: an idle durable store (the default geometry's image is 28 MB a partition) rewrote its images
  // twice a minute, for ever: about 160 GB a day for a daemon with two partitions and no traffic.
  it('an idle store writes no checkpoint by time; one append makes the next one due', async () => {
    const dir = tmp();
    const s = await EventStore.open<Ev>({ capacity: 1000, partitions: 2, key: 'k', values: { n: 'n' }, durability: { dir, fsync: 'never', checkpointIntervalMs: 100 } });
    const newest = (p: number): number => Math.max(0, ...readdirSync(path.join(dir, `p${p}`, 'checkpoints')).filter((f) => f.endsWith('.ckpt')).map((f) => Number(f.split('.')[0])));
    const waitFor = async (ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(ok()).toBe(true);
    };
    s.tryAppend({ k: 'a', n: 1 });
    await s.flush();
    await waitFor(() => newest(0) + newest(1) >= 1); // the partition that took it checkpoints within the interval
    const idle = [newest(0), newest(1)];
    await new Promise((r) => setTimeout(r, 1_000)); // ten intervals, nothing written
    expect([newest(0), newest(1)]).toEqual(idle);
    s.tryAppend({ k: 'a', n: 2 });
    await s.flush();
    await waitFor(() => newest(0) + newest(1) > idle[0] + idle[1]);
    await s.close();
  });
});

describe('a full disk', () => {
  const mount = (dir: string, size: string): boolean => spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
  const root = tmp();
  const mounted = mount(root, '3m');
  if (mounted) mounts.push(root);

  // Mounting a tmpfs needs root (as on the project's machines); without it the fault-injection tests of
  // test/durability/segment-log*.test.ts still cover the log's full-disk path.
  it.skipIf(!mounted)('appends are refused with RS_ERR_DISK_FULL, reads go on, nothing acknowledged is lost, writes resume when space is freed', async () => {
    const dir = path.join(root, 'store');
    const filler = path.join(root, 'filler');
    writeFileSync(filler, Buffer.alloc(1024 * 1024));
    const opts = { capacity: 100_000, partitions: 1, key: 'k', values: { n: 'n' }, durability: { dir, fsync: 'always' as const, checkpointIntervalMs: 3_600_000, segmentBytes: 8 * 1024 * 1024 } };
    let s = await EventStore.open<Ev>(opts);
    const pad = 'y'.repeat(500);
    const acked: number[] = [];
    let refused: unknown;
    for (let i = 0; i < 20_000 && refused === undefined; i++) {
      try {
        await s.append({ k: `k${i % 7}`, n: i, pad });
        acked.push(i);
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toMatchObject({ code: 'RS_ERR_DISK_FULL' });
    expect(acked.length).toBeGreaterThan(100);
    expect((await s.snapshot()).map((e) => e.payload.n)).toEqual(acked); // reads work, the refused append is not there
    rmSync(filler);
    await new Promise((r) => setTimeout(r, 1100)); // the partition tries again after a second
    await s.append({ k: 'after', n: -1 });
    await s.close().catch(() => undefined); // the last checkpoint may not fit
    s = await EventStore.open<Ev>(opts);
    const back = (await s.snapshot()).map((e) => e.payload.n);
    expect(back).toEqual([...acked, -1]);
    await s.close();
    expect(existsSync(dir)).toBe(true);
  }, 120_000);
});
