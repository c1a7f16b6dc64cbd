// A durable MetricStore through the public API (issue 12): restarts in every fsync mode answer exactly what
// an in-memory twin given the same calls answers; kill -9 under load; torn tail; corruption and repair; the
// lock; a changed configuration; bounded disk at capacity-1/capacity/capacity+1 and while wrapping; full disk
// and I/O errors (FaultIo).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore, MetricStore, type DurableMetricStore, type MetricStoreOptions, type TimeRange } from '../../dist/src/index.js';
import { FaultIo, SegmentLog } from '../../dist/src/durability/index.js';

const roots: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rs-metric-durable-'));
  roots.push(d);
  return d;
}
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

type Fsync = 'always' | 'interval' | 'never';
type Queries = Pick<MetricStore, 'count' | 'sum' | 'average' | 'min' | 'max' | 'aggregate' | 'top' | 'keys' | 'stats'>;

const RANGES: (TimeRange | undefined)[] = [undefined, { from: 1_000, to: 1_400 }, { from: 1_700 }, { to: 1_050 }];

/** Every query, per label and window, plus top, keys and the counters. */
function answers(s: Queries, labels: readonly string[]): unknown {
  return {
    stats: s.stats,
    keys: s.keys(),
    top: [s.top(10), s.top(3, { from: 1_500 })],
    all: RANGES.map((r) => s.aggregate(r)),
    per: labels.map((k) => RANGES.map((r) => [s.count(k, r), s.sum(k, r), s.average(k, r), s.min(k, r), s.max(k, r), s.aggregate(k, r)])),
  };
}

const LABELS = [...Array.from({ length: 23 }, (_, i) => `k${i}`), 'hot', 'cold', 'many', 'absent'];
const value = (i: number): number => ((i * 7919) % 1000) / 7 - 50;

/**
 * The same calls on the durable store and its in-memory twin: adds that wrap the ring, addMany, pins,
 * addById, a release, and (in round 0) a clear. Checks the ids match.
 */
async function workload(s: DurableMetricStore, twin: MetricStore, round: number): Promise<void> {
  const t0 = 1_000 + round * 500;
  for (let i = 0; i < 1_500; i++) {
    void s.add(`k${i % 23}`, value(i), t0 + (i % 700));
    twin.add(`k${i % 23}`, value(i), t0 + (i % 700));
    if (round === 0 && i === 700) {
      await s.clear();
      twin.clear();
    }
  }
  const keys = Array.from({ length: 200 }, (_, i) => (i % 2 ? 'many' : `k${i % 5}`));
  const values = keys.map((_, i) => value(i + round));
  const times = keys.map((_, i) => t0 + i);
  await s.addMany(keys, values, times);
  twin.addMany(keys, values, times);
  const hot = await s.keyId('hot');
  expect(hot).toBe(twin.keyId('hot'));
  const cold = await s.keyId('cold');
  expect(cold).toBe(twin.keyId('cold'));
  for (let i = 0; i < 50; i++) {
    void s.addById(hot, i, t0 + 10 * i);
    twin.addById(hot, i, t0 + 10 * i);
  }
  void s.addById(cold, -1, t0);
  twin.addById(cold, -1, t0);
  expect(await s.releaseKeyId(cold)).toBe(twin.releaseKeyId(cold));
  expect(() => s.addById(cold, 1)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
  await s.flush();
}

const opts = (dir: string, fsync: Fsync, extra: Partial<MetricStoreOptions> = {}, durability = {}): MetricStoreOptions => ({
  capacity: 1_000, partitions: 3, ...extra, durability: { dir, fsync, ...durability },
});

const FIXTURE = fileURLToPath(new URL('../fixtures/metric-load.mjs', import.meta.url));

/** A child that adds `count` awaited samples (1..count) to key 'fill', then SIGKILLs itself. */
function filled(dir: string, count: number): void {
  const r = spawnSync(process.execPath, [FIXTURE, dir, 'always', 'fill', String(count)], { encoding: 'utf8', timeout: 60_000 });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}
const fillOpts = (dir: string, durability = {}): MetricStoreOptions => ({ capacity: 100_000, partitions: 2, durability: { dir, fsync: 'always', ...durability } });

/** Samples 1..M of `key` are there, each once, no other: returns M. */
function prefix(s: Queries, key: string): number {
  const m = s.count(key);
  expect(s.sum(key)).toBe((m * (m + 1)) / 2);
  if (m > 0) expect([s.min(key), s.max(key)]).toEqual([1, m]);
  // Each sample n has value and timestamp n. Blocks of 1,024 (count, sum, min, max each), then every sample of
  // the last 2,048, where a crash cuts: one query per sample over hundreds of thousands of samples (fsync never)
  // took 24 s on a quiet machine and over 120 s on a busy one.
  const BLOCK = 1024;
  const tail = Math.max(1, m - 2 * BLOCK);
  for (let a = 1; a < tail; a += BLOCK) {
    const b = Math.min(a + BLOCK - 1, tail - 1);
    const r = { from: a, to: b };
    expect([s.count(key, r), s.sum(key, r), s.min(key, r), s.max(key, r)], `samples ${a}-${b} of ${key}`).toEqual([b - a + 1, ((a + b) * (b - a + 1)) / 2, a, b]);
  }
  for (let n = tail; n <= m; n++) expect(s.count(key, { from: n, to: n }), `sample ${n} of ${key}`).toBe(1);
  return m;
}

describe('restarts answer exactly what the store answered before', () => {
  for (const fsync of ['always', 'interval', 'never'] as const) {
    it(`fsync ${fsync}: counts, sums, averages, min, max, windows per label, top, keys, stats, pins; and the store goes on the same`, async () => {
      const dir = tmp();
      const twin = MetricStore.create({ capacity: 1_000, partitions: 3 });
      let s = await MetricStore.open(opts(dir, fsync));
      expect(s.restored).toMatchObject({ samples: 0, frames: 0, checkpoint: 0 });
      await workload(s, twin, 0);
      const before = answers(s, LABELS);
      expect(before).toEqual(answers(twin, LABELS));
      expect(s.stats.discarded).toBeGreaterThan(0); // the ring wrapped
      const hot = await s.keyId('hot');
      await s.close();

      s = await MetricStore.open(opts(dir, fsync));
      expect(answers(s, LABELS)).toEqual(before);
      expect(s.keyOf(hot)).toBe('hot');
      expect(s.restored.samples).toBe(twin.stats.live);
      await workload(s, twin, 1); // slots, generations and pins carried over: ids and answers still match
      expect(answers(s, LABELS)).toEqual(answers(twin, LABELS));
      await s.close();
    });
  }

  it('after a kill -9 (no checkpoint), the log replays to the same answers, clear and pins included; onDiscarded is not called again', async () => {
    const dir = tmp();
    const script = `
      import { MetricStore } from ${JSON.stringify(new URL('../../dist/src/index.js', import.meta.url).href)};
      const s = await MetricStore.open({ capacity: 100, partitions: 2, durability: { dir: ${JSON.stringify(dir)}, fsync: 'never', checkpointIntervalMs: 3600000 } });
      for (let i = 0; i < 70; i++) await s.add('k0', i * 1.5, 1000 + i); // 20 evicted from k0's partition
      await s.keyId('k3');
      await s.clear();
      for (let i = 0; i < 20; i++) s.add('k' + (i % 5), -i, 2000 + i);
      await s.flush();
      console.log(JSON.stringify([s.stats, s.top(5), s.keys(), s.aggregate(), s.aggregate('k1', { from: 2010 })]));
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal, r.stderr).toBe('SIGKILL');
    const discarded: string[] = [];
    const s = await MetricStore.open({ capacity: 100, partitions: 2, onDiscarded: (k) => discarded.push(k), durability: { dir, fsync: 'never' } });
    expect(s.restored).toMatchObject({ checkpoint: 0, frames: 73 }); // fewer than capacity samples: no checkpoint yet
    expect(JSON.stringify([s.stats, s.top(5), s.keys(), s.aggregate(), s.aggregate('k1', { from: 2010 })])).toBe(r.stdout.trim());
    expect(discarded).toEqual([]);
    for (let i = 0; i < 60; i++) void s.add('k0', 0, 3000);
    await s.flush();
    expect(discarded.length).toBeGreaterThan(0); // live evictions are reported
    await s.close();
  });

  it('writes made in one tick share one frame (group commit); a batch is applied only once written', async () => {
    const dir = tmp();
    const s = await MetricStore.open(opts(dir, 'always', { capacity: 10_000 }));
    const acks = Array.from({ length: 1_000 }, (_, i) => s.add(`g${i % 10}`, i, 5_000));
    expect(s.count()).toBe(0); // queued, not yet written
    await Promise.all(acks);
    expect(s.count()).toBe(1_000);
    await s.close();
    const frames: number[] = [];
    SegmentLog.verify(path.join(dir, 'log'), (f) => frames.push(f.count));
    expect(frames).toEqual([1_000]);
  });
});

describe('kill -9 under load', () => {
  /** Runs a loaded child for `ms` after it is ready, SIGKILLs it, and returns the highest acked sample per key. */
  function killRound(dir: string, fsync: Fsync, round: number, ms: number): Promise<Map<string, number>> {
    const child = spawn(process.execPath, [FIXTURE, dir, fsync, 'load', String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<string, number>();
    let buf = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    return new Promise((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), ms);
          else {
            const [key, n] = line.split(' ');
            acked.set(key, Math.max(acked.get(key) ?? 0, Number(n)));
          }
        }
      });
      child.on('close', (_code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`the child exited with ${_code}: ${err}`))));
    });
  }

  for (const fsync of ['always', 'never'] as const) {
    it(`fsync ${fsync}: every acknowledged sample is back, once, over two rounds`, async () => {
      const dir = tmp();
      const acked = new Map<string, number>();
      for (const round of [0, 1]) {
        for (const [k, n] of await killRound(dir, fsync, round, 300 + Math.floor(Math.random() * 500))) acked.set(k, n);
        const s = await MetricStore.open({ capacity: 1_000_000, partitions: 2, durability: { dir, fsync } });
        for (const [key, n] of acked) {
          const m = prefix(s, key);
          expect(m, `${key}: ${n} acknowledged`).toBeGreaterThanOrEqual(n);
          expect(m - n).toBeLessThanOrEqual(key.endsWith('b') ? 5 : 1); // at most the one write in flight
        }
        expect(s.stats.live).toBe([...acked.keys()].reduce((t, k) => t + s.count(k), 0));
        expect(Math.min(...acked.values())).toBeGreaterThan(5);
        await s.close();
      }
      expect(acked.size).toBe(10);
    }, 120_000);
  }
});

describe('damaged logs', () => {
  it('a torn tail is cut and logged; the store opens with what was complete', async () => {
    const dir = tmp();
    filled(dir, 300);
    const logDir = path.join(dir, 'log');
    const last = readdirSync(logDir).filter((f) => f.endsWith('.seg')).sort().pop()!;
    const file = path.join(logDir, last);
    writeFileSync(file, readFileSync(file).subarray(0, statSync(file).size - 13)); // half of the last frame
    const logged: string[] = [];
    const logger = { info: (_o: unknown, m: string) => logged.push(m), warn: (_o: unknown, m: string) => logged.push(m), error: (_o: unknown, m: string) => logged.push(m) };
    const s = await MetricStore.open({ ...fillOpts(dir), logger: logger as never });
    expect(s.restored.bytesTruncated).toBeGreaterThan(0);
    expect(prefix(s, 'fill')).toBe(299);
    expect(logged.some((m) => /^cut \d+ bytes of the log at .*\.seg:\d+ \(torn\)$/.test(m))).toBe(true);
    expect(logged).toContain('restored 299 samples in ' + s.restored.ms.toFixed(1) + ' ms');
    await s.add('fill', 300, 300); // and it goes on after the cut
    await s.close();
    const again = await MetricStore.open(fillOpts(dir));
    expect(prefix(again, 'fill')).toBe(300);
    await again.close();
  });

  it('corruption in the middle of the log refuses to open, naming the file and offset; repair cuts there', async () => {
    const dir = tmp();
    filled(dir, 300);
    const logDir = path.join(dir, 'log');
    const first = readdirSync(logDir).filter((f) => f.endsWith('.seg')).sort()[0];
    const bytes = readFileSync(path.join(logDir, first));
    bytes[Math.floor(bytes.length / 2)] ^= 0x40;
    writeFileSync(path.join(logDir, first), bytes);
    const err = await MetricStore.open(fillOpts(dir)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RS_ERR_LOG_CORRUPT', file: path.join(logDir, first) });
    expect(String((err as Error).message)).toMatch(new RegExp(`${first} is corrupt at offset \\d+`));
    const s = await MetricStore.open(fillOpts(dir, { repair: true }));
    const m = prefix(s, 'fill');
    expect(m).toBeGreaterThan(0);
    expect(m).toBeLessThan(300);
    expect(readdirSync(logDir).some((f) => f.endsWith('.broken'))).toBe(true);
    await s.close();
  });
  it('a damaged newest checkpoint: the restore falls back to the older one and replays the log after it', async () => {
    const dir = tmp();
    const o = { capacity: 200, partitions: 2, durability: { dir, fsync: 'always' as const, segmentBytes: 4096 } };
    const twin = MetricStore.create({ capacity: 200, partitions: 2 });
    const labels = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
    let s = await MetricStore.open(o);
    for (let i = 0; i < 500; i++) {
      await s.add(`k${i % 7}`, value(i), 1_000 + i);
      twin.add(`k${i % 7}`, value(i), 1_000 + i);
    }
    await s.close(); // checkpoints at 200 and 400 samples, and at close: the last two are kept
    const ckpts = readdirSync(path.join(dir, 'checkpoints')).filter((f) => f.endsWith('.ckpt')).sort();
    expect(ckpts).toHaveLength(2);
    const newest = path.join(dir, 'checkpoints', ckpts[1]);
    const bytes = readFileSync(newest);
    bytes[bytes.length - 5] ^= 0x01;
    writeFileSync(newest, bytes);
    s = await MetricStore.open(o);
    expect(s.restored.checkpoint).toBe(Number(ckpts[0].split('.')[0]));
    expect(s.restored.frames).toBe(100); // samples 401..500, one frame each
    expect(answers(s, labels)).toEqual(answers(twin, labels));
    await s.close();
  });
});

describe('the directory', () => {
  it('a second open fails with RS_ERR_DATA_DIR_LOCKED, here and in another process; reopening after close works', async () => {
    const dir = tmp();
    const s = await MetricStore.open(opts(dir, 'always'));
    await expect(MetricStore.open(opts(dir, 'always'))).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_LOCKED' });
    const entry = new URL('../../dist/src/index.js', import.meta.url).href;
    const other = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { MetricStore } from '${entry}';
      MetricStore.open({ capacity: 1000, partitions: 3, durability: { dir: ${JSON.stringify(dir)} } })
        .then(() => console.log('opened'), (e) => console.log(e.code, e.message));`], { encoding: 'utf8', timeout: 30_000 });
    expect(other.stdout).toMatch(/^RS_ERR_DATA_DIR_LOCKED .*in use by pid \d+/);
    await s.close();
    await (await MetricStore.open(opts(dir, 'always'))).close();
  });

  it('a changed capacity, partition count or maxRememberedKeys is refused with RS_ERR_DATA_DIR_MISMATCH, and so is an EventStore directory', async () => {
    const dir = tmp();
    const s = await MetricStore.open(opts(dir, 'always'));
    await s.add('a', 1);
    await s.close();
    for (const extra of [{ capacity: 1_001 }, { partitions: 2 }, { maxRememberedKeys: 5_000 }]) {
      await expect(MetricStore.open(opts(dir, 'always', extra))).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_MISMATCH' });
    }
    const events = tmp();
    await (await EventStore.open({ capacity: 1_000, partitions: 3, durability: { dir: events } })).close();
    await expect(MetricStore.open(opts(events, 'always'))).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_MISMATCH' });
    await expect(EventStore.open({ capacity: 1_000, partitions: 3, durability: { dir } })).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_MISMATCH' });
    const back = await MetricStore.open(opts(dir, 'always')); // the refusals changed nothing
    expect(back.count('a')).toBe(1);
    await back.close();
  });

  it('options: create refuses durability, open requires it, bad durability options are refused', async () => {
    const dir = tmp();
    expect(() => MetricStore.create(opts(dir, 'always'))).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
    await expect(MetricStore.open({ capacity: 10 })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
    await expect(MetricStore.open({ capacity: 10, durability: { dir, fsync: 'sometimes' as never } })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
    await expect(MetricStore.open({ capacity: 10, durability: { dir, segmentBytes: 100 } })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
    await expect(MetricStore.open({ capacity: 0, durability: { dir } })).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
    expect(existsSync(path.join(dir, 'meta.json'))).toBe(false);
    const s = await MetricStore.open({ capacity: 10, durability: { dir } });
    expect(() => s.add('', 1)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => s.add('a', NaN)).toThrow(expect.objectContaining({ code: 'RS_ERR_NON_FINITE' }));
    expect(() => s.addMany(['a', 'b'], [1])).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => s.addById(12345, 1)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    await s.close();
    expect(() => s.add('a', 1)).toThrow(expect.objectContaining({ code: 'RS_ERR_CLOSED' }));
    expect(s.count()).toBe(0); // reads go on after close
  });
});

describe('bounded disk', () => {
  const C = 300;
  const seqOf = (f: string): number => Number(f.split('.')[0]);
  const files = (dir: string, sub: string, ext: string): string[] => readdirSync(path.join(dir, sub)).filter((f) => f.endsWith(ext)).sort();
  const bytes = (dir: string, sub: string): number => readdirSync(path.join(dir, sub)).reduce((t, f) => t + statSync(path.join(dir, sub, f)).size, 0);

  it('at capacity-1, capacity, capacity+1 and over 20 wraps: segments go once a checkpoint holds their samples; at most two checkpoints', async () => {
    const dir = tmp();
    const s = await MetricStore.open({ capacity: C, partitions: 1, durability: { dir, fsync: 'never', segmentBytes: 4096, checkpointIntervalMs: 3_600_000 } });
    let n = 0;
    const addTo = async (total: number): Promise<void> => {
      for (; n < total; n++) await s.add(`k${n % 5}`, n, n); // one sample per frame
    };
    await addTo(C - 1);
    expect(files(dir, 'checkpoints', '.ckpt')).toEqual([]);
    expect(seqOf(files(dir, 'log', '.seg')[0])).toBe(1); // nothing deleted yet
    await addTo(C);
    expect(files(dir, 'checkpoints', '.ckpt')).toHaveLength(1); // capacity samples since the last: a checkpoint
    let segs = files(dir, 'log', '.seg');
    expect(segs.length < 2 || seqOf(segs[1]) > C).toBe(true); // every segment it holds entirely is gone
    await addTo(C + 1);
    expect(s.stats).toMatchObject({ live: C, discarded: 1 });
    expect(files(dir, 'checkpoints', '.ckpt')).toHaveLength(1);
    // One frame is at most 32 (header) + 32 (batch header) + 21 (one operation) + 4 + 2 (key) bytes, padded to 8.
    const frame = 96;
    const mostSegments = Math.ceil(((2 * C + 1) * frame) / (4096 - 56)) + 2;
    let most = 0;
    let mostBytes = 0;
    for (let wrap = 2; wrap <= 20; wrap++) {
      await addTo(wrap * C);
      segs = files(dir, 'log', '.seg');
      // The older checkpoint covers (wrap - 1) * C: samples 1 .. (wrap-1)*C are all evicted, and so are their segments.
      expect(segs.length < 2 || seqOf(segs[1]) > (wrap - 1) * C, `wrap ${wrap}: ${segs.join(' ')}`).toBe(true);
      expect(files(dir, 'checkpoints', '.ckpt')).toHaveLength(2);
      most = Math.max(most, segs.length);
      mostBytes = Math.max(mostBytes, bytes(dir, 'log') + bytes(dir, 'checkpoints'));
    }
    expect(most).toBeLessThanOrEqual(mostSegments);
    // Two images (20 bytes a sample, the key table) plus the log since the older one.
    expect(mostBytes).toBeLessThan(2 * (64 + 12 + 20 * C + 200) + (mostSegments + 1) * 4096);
    await s.close();
  });

  for (const total of [C - 1, C, C + 1, 7 * C + 13]) {
    it(`a restart with ${total} samples added (capacity ${C}) answers the same, and again after more`, async () => {
      const dir = tmp();
      const o = { capacity: C, partitions: 2, durability: { dir, fsync: 'interval' as const, segmentBytes: 4096 } };
      const twin = MetricStore.create({ capacity: C, partitions: 2 });
      const labels = ['k0', 'k1', 'k2', 'k3', 'k4'];
      let s = await MetricStore.open(o);
      for (let i = 0; i < total; i++) {
        await s.add(`k${i % 5}`, value(i), 1_000 + i);
        twin.add(`k${i % 5}`, value(i), 1_000 + i);
      }
      expect(answers(s, labels)).toEqual(answers(twin, labels));
      await s.close();
      s = await MetricStore.open(o);
      expect(answers(s, labels)).toEqual(answers(twin, labels));
      for (let i = 0; i < C + 7; i++) {
        void s.add(`k${i % 3}`, -i, 5_000 + i);
        twin.add(`k${i % 3}`, -i, 5_000 + i);
      }
      await s.close();
      s = await MetricStore.open(o);
      expect(answers(s, labels)).toEqual(answers(twin, labels));
      await s.close();
    });
  }
});

describe('a full disk and I/O errors (FaultIo)', () => {
  it('no space: the batch is refused with RS_ERR_DISK_FULL and not applied, reads go on, writes resume once there is room; nothing acknowledged is lost', async () => {
    const dir = tmp();
    const io = new FaultIo();
    const o = { capacity: 100_000, partitions: 2, durability: { dir, fsync: 'always' as const, io, segmentBytes: 64 * 1024 } };
    let s = await MetricStore.open(o);
    io.spaceLimit = io.usedBytes() + 40_000;
    let acked = 0;
    let refused: unknown;
    for (let n = 1; refused === undefined && n < 10_000; n++) {
      try {
        await s.add('d', n, n);
        acked = n;
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toMatchObject({ code: 'RS_ERR_DISK_FULL' });
    expect(acked).toBeGreaterThan(100);
    expect(prefix(s, 'd')).toBe(acked); // reads work; the refused sample is not there
    await expect(s.addMany(['d', 'd'], [0, 0], [0, 0])).rejects.toMatchObject({ code: 'RS_ERR_DISK_FULL' });
    void s.add('lost', 1).catch(() => undefined);
    await expect(s.flush()).rejects.toMatchObject({ code: 'RS_ERR_DISK_FULL' }); // reported to flush too
    expect(s.count('lost')).toBe(0);
    io.spaceLimit = Infinity;
    await s.add('d', acked + 1, acked + 1);
    await s.close();
    s = await MetricStore.open(o);
    expect(prefix(s, 'd')).toBe(acked + 1);
    await s.close();
  });

  it('fsync always: a power loss keeps every acknowledged sample (the log alone: no checkpoint was written)', async () => {
    const dir = tmp();
    const fio = new FaultIo();
    let dead = false;
    // After the power cut, the old store's close() must not write anything.
    const io = new Proxy(fio, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (dead && ['open', 'writev', 'fdatasync', 'ftruncate', 'rename', 'unlink'].includes(String(key))) throw Object.assign(new Error('EIO: dead'), { code: 'EIO' });
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const o = { capacity: 10_000, partitions: 2, durability: { dir, fsync: 'always' as const, io, checkpointIntervalMs: 3_600_000 } };
    let s = await MetricStore.open(o);
    for (let n = 1; n <= 200; n++) await s.add(`p${n % 3}`, n, n);
    dead = true;
    fio.crash({ powerLoss: true, unsynced: 'drop' });
    await s.close().catch(() => undefined);
    dead = false;
    s = await MetricStore.open(o);
    expect(s.restored).toMatchObject({ checkpoint: 0, samples: 200 });
    expect([s.count(), s.sum(), s.min(), s.max()]).toEqual([200, 200 * 201 / 2, 1, 200]);
    await s.close();
  });

  it('EIO: writes reject with RS_ERR_IO from then on, reads go on; reopening finds every acknowledged sample', async () => {
    const dir = tmp();
    const io = new FaultIo();
    const o = { capacity: 1_000, partitions: 1, durability: { dir, fsync: 'interval' as const, io } };
    let s = await MetricStore.open(o);
    for (let n = 1; n <= 50; n++) await s.add('e', n, n);
    io.failWrite(1, 'eio');
    await expect(s.add('e', 51, 51)).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    await expect(s.add('e', 51, 51)).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    await expect(s.keyId('x')).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    expect(prefix(s, 'e')).toBe(50);
    await s.close().catch(() => undefined);
    io.crash({ powerLoss: false });
    s = await MetricStore.open(o);
    expect(prefix(s, 'e')).toBe(50);
    await s.add('e', 51, 51);
    await s.close();
  });

  it('EIO on a batch\'s fdatasync: RS_ERR_IO and the batch is cut off the log (a reopen does not apply it); if the cut fails too, RS_ERR_IO_UNKNOWN', async () => {
    for (const cutFails of [false, true]) {
      const dir = tmp();
      const io = new FaultIo();
      const o = { capacity: 1_000, partitions: 1, durability: { dir, fsync: 'always' as const, io } };
      let s = await MetricStore.open(o);
      for (let n = 1; n <= 50; n++) await s.add('e', n, n);
      io.failSync(1);
      if (cutFails) io.failTruncate(1);
      await expect(s.add('e', 51, 51)).rejects.toMatchObject({ code: cutFails ? 'RS_ERR_IO_UNKNOWN' : 'RS_ERR_IO' });
      await expect(s.add('e', 52, 52)).rejects.toMatchObject({ code: 'RS_ERR_IO' });
      expect(prefix(s, 'e')).toBe(50);
      await s.close().catch(() => undefined);
      io.crash({ powerLoss: false });
      s = await MetricStore.open(o);
      // The failed truncation left the frame: the unknown outcome, here "stored".
      expect(prefix(s, 'e')).toBe(cutFails ? 51 : 50);
      await s.close();
    }
  });
});
