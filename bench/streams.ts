/**
 * Benchmark of ringstore/streams: append and read throughput of the memory and
 * lmdb backends beside Emmett's in-memory event store, measured in the same
 * run, plus loading a 10k-event stream with and without a snapshot.
 *
 * Run: `npm run bench:streams` (tsc, then `node dist/bench/streams.js`).
 * Figures are ratios against baselines of the same run; see docs/benchmarks/streams.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getInMemoryEventStore } from '@event-driven-io/emmett';
import { LmdbBackend, MemoryBackend, StreamStoreProvider, type KeyValueBackend, type NewEvent, type StreamEvent } from '../src/streams/index.js';

const REPS = Number(process.env.BENCH_REPS ?? 3);

function best(samples: number[]): number {
  return Math.max(...samples);
}

async function rate(count: number, fn: () => Promise<void>, setup?: () => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < REPS; r++) {
    if (setup) await setup();
    const t = performance.now();
    await fn();
    samples.push(count / ((performance.now() - t) / 1000));
  }
  return best(samples);
}

const ev = (i: number): NewEvent => ({ type: 'Deposited', data: { amount: i, note: 'bench' } });
/** `n` events from `base`. A plain loop: `Array.from({ length }, fn)` costs ~0.4 µs per call, as much as a whole append. */
function batchOf(n: number, base: number): NewEvent[] {
  const out: NewEvent[] = new Array(n);
  for (let j = 0; j < n; j++) out[j] = ev(base + j);
  return out;
}

interface Row {
  workload: string;
  subject: string;
  perSec: number;
  baseline?: string;
  ratio?: number;
}
const rows: Row[] = [];

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(1);
}

let uniq = 0;
/** `memory` keeps streams in native logs (the default); `memory-kv` as key-value records, the layout of the other backends. */
type Kind = 'memory' | 'memory-kv' | 'lmdb' | 'lmdb-nosync';
async function withBackend<T>(kind: Kind, fn: (provider: StreamStoreProvider, backend: KeyValueBackend) => Promise<T>): Promise<T> {
  const memory = kind === 'memory' || kind === 'memory-kv';
  const dir = memory ? '' : mkdtempSync(join(tmpdir(), 'rs-bench-'));
  const backend: KeyValueBackend = memory ? new MemoryBackend({ nativeStreams: kind === 'memory' }) : new LmdbBackend({ path: dir, noSync: kind === 'lmdb-nosync' });
  const provider = new StreamStoreProvider({ backend });
  try {
    return await fn(provider, backend);
  } finally {
    await provider.close();
    await backend.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function appendSingle(kind: 'memory' | 'lmdb', n: number): Promise<number> {
  return withBackend(kind, async (provider) =>
    rate(n, async () => {
      const s = await provider.open(`Bench/single-${uniq++}`);
      for (let i = 0; i < n; i++) await s.append([ev(i)]);
      await s.close();
    }),
  );
}

async function appendBatched(kind: Kind, n: number, batch: number): Promise<number> {
  return withBackend(kind, async (provider) =>
    rate(n, async () => {
      const s = await provider.open(`Bench/batch-${uniq++}`);
      for (let i = 0; i < n; i += batch) await s.append(batchOf(batch, i));
      await s.close();
    }),
  );
}

/** Single-event appends from many sessions at once: lmdb coalesces their commits. */
async function appendConcurrent(kind: 'memory' | 'lmdb' | 'lmdb-nosync', n: number, streams: number, batch = 1): Promise<number> {
  return withBackend(kind, async (provider) =>
    rate(n, async () => {
      const sessions = await Promise.all(Array.from({ length: streams }, () => provider.open(`Bench/conc-${uniq++}`)));
      await Promise.all(
        sessions.map(async (s) => {
          for (let i = 0; i < n / streams; i += batch) await s.append(batchOf(batch, i));
        }),
      );
      await Promise.all(sessions.map((s) => s.close()));
    }),
  );
}

async function emmettSingle(n: number): Promise<number> {
  return rate(n, async () => {
    const es = getInMemoryEventStore();
    const name = `Bench-${uniq++}`;
    for (let i = 0; i < n; i++) await es.appendToStream(name, [ev(i) as { type: string; data: Record<string, unknown> }]);
  });
}

/** Round-robin over `streams` streams, 1 event per call (Emmett's stream arrays stay short). */
async function emmettRoundRobin(n: number, streams: number): Promise<number> {
  return rate(n, async () => {
    const es = getInMemoryEventStore();
    const base = uniq++;
    for (let i = 0; i < n; i++) await es.appendToStream(`Bench-${base}-${i % streams}`, [ev(i) as { type: string; data: Record<string, unknown> }]);
  });
}

async function memoryRoundRobin(n: number, streams: number, kind: 'memory' | 'memory-kv' = 'memory'): Promise<number> {
  return withBackend(kind, async (provider) =>
    rate(n, async () => {
      const sessions = await Promise.all(Array.from({ length: streams }, () => provider.open(`Bench/rr-${uniq++}`)));
      for (let i = 0; i < n; i++) await sessions[i % streams]!.append([ev(i)]);
      await Promise.all(sessions.map((s) => s.close()));
    }),
  );
}

async function emmettBatched(n: number, batch: number): Promise<number> {
  return rate(n, async () => {
    const es = getInMemoryEventStore();
    const name = `Bench-${uniq++}`;
    for (let i = 0; i < n; i += batch) await es.appendToStream(name, batchOf(batch, i) as Array<{ type: string; data: Record<string, unknown> }>);
  });
}

async function readFull(kind: 'memory' | 'lmdb', n: number): Promise<number> {
  return withBackend(kind, async (provider) => {
    const s = await provider.open('Bench/read');
    for (let i = 0; i < n; i += 1000) await s.append(batchOf(1000, i));
    const reps = 5;
    return rate(n * reps, async () => {
      for (let r = 0; r < reps; r++) if ((await s.read()).events.length !== n) throw new Error('short read');
    });
  });
}

/**
 * The first read of a stream just appended: the memory backend's native log
 * builds and freezes each event's envelope when it first hands it out (later
 * reads, as in readFull, return the same objects).
 */
async function readFirst(n: number): Promise<number> {
  return withBackend('memory', async (provider) => {
    let s: Awaited<ReturnType<StreamStoreProvider['open']>> | undefined;
    return rate(
      n,
      async () => {
        if ((await s!.read()).events.length !== n) throw new Error('short read');
      },
      async () => {
        await s?.close();
        s = await provider.open(`Bench/read-first-${uniq++}`);
        for (let i = 0; i < n; i += 1000) await s.append(batchOf(1000, i));
      },
    );
  });
}

async function emmettRead(n: number): Promise<number> {
  const es = getInMemoryEventStore();
  for (let i = 0; i < n; i += 1000) await es.appendToStream('Bench-read', batchOf(1000, i) as Array<{ type: string; data: Record<string, unknown> }>);
  const reps = 5;
  return rate(n * reps, async () => {
    for (let r = 0; r < reps; r++) if ((await es.readStream('Bench-read')).events.length !== n) throw new Error('short read');
  });
}

type Balance = { balance: number; count: number };
const evolve = (s: Balance | undefined, events: readonly StreamEvent[]): Balance => {
  let b = s ?? { balance: 0, count: 0 };
  for (const e of events) b = { balance: b.balance + (e.data as { amount: number }).amount, count: b.count + 1 };
  return b;
};

/** Loads (read + fold) a 10,099-event stream with the latest snapshot at 10,000, vs a full replay. */
async function snapshotLoad(kind: 'memory' | 'lmdb'): Promise<{ full: number; snap: number }> {
  return withBackend(kind, async (provider) => {
    const s = await provider.open('Bench/snap');
    for (let i = 0; i < 10_000; i += 1000) await s.append(batchOf(1000, i));
    await s.snapshotEvery<Balance>(1_000, (st, evs) => evolve(st, evs));
    await s.append(batchOf(99, 10_000));
    const expected = evolve(undefined, (await s.read()).events);
    const loads = 20;
    const full = await rate(loads, async () => {
      for (let r = 0; r < loads; r++) if (evolve(undefined, (await s.read()).events).count !== expected.count) throw new Error('bad');
    });
    const snap = await rate(loads, async () => {
      for (let r = 0; r < loads; r++) {
        const { snapshot, events } = await s.read<Balance>({ useSnapshot: true });
        if (evolve(snapshot!.state, events).balance !== expected.balance) throw new Error('bad');
      }
    });
    return { full, snap };
  });
}

async function run(): Promise<void> {
  const N = Number(process.env.BENCH_N ?? 100_000);
  const eRR = await emmettRoundRobin(N, 100);
  rows.push({ workload: 'append, 1 event per call, 100 streams round-robin', subject: 'emmett in-memory', perSec: eRR });
  rows.push({ workload: 'append, 1 event per call, 100 streams round-robin', subject: 'ringstore memory', perSec: await memoryRoundRobin(N, 100), baseline: 'emmett rr', ratio: 0 });
  rows.push({ workload: 'append, 1 event per call, 100 streams round-robin', subject: 'ringstore memory, key-value layout (nativeStreams: false)', perSec: await memoryRoundRobin(N, 100, 'memory-kv'), baseline: 'emmett rr', ratio: 0 });
  // One long stream: Emmett's in-memory store copies the stream on each append
  // (quadratic), so this workload uses a smaller N for every subject.
  const N1 = Math.min(N, 20_000);
  const eSingle = await emmettSingle(N1);
  const eBatch = await emmettBatched(N1, 100);
  rows.push({ workload: 'append, 1 event per call, 1 stream', subject: 'emmett in-memory', perSec: eSingle });
  rows.push({ workload: 'append, 1 event per call, 1 stream', subject: 'ringstore memory', perSec: await appendSingle('memory', N1), baseline: 'emmett', ratio: 0 });
  rows.push({ workload: 'append, 100 events per call', subject: 'emmett in-memory', perSec: eBatch });
  rows.push({ workload: 'append, 100 events per call', subject: 'ringstore memory', perSec: await appendBatched('memory', N1, 100), baseline: 'emmett', ratio: 0 });
  rows.push({ workload: 'append, 100 events per call', subject: 'ringstore memory, key-value layout (nativeStreams: false)', perSec: await appendBatched('memory-kv', N1, 100), baseline: 'emmett', ratio: 0 });
  rows.push({ workload: 'append, 100 events per call', subject: 'ringstore lmdb (fsync per commit)', perSec: await appendBatched('lmdb', N1, 100), baseline: 'emmett', ratio: 0 });
  rows.push({ workload: 'append, 1,000 events per call', subject: 'ringstore lmdb (fsync per commit)', perSec: await appendBatched('lmdb', N, 1000), baseline: 'emmett 100/call', ratio: 0 });
  rows.push({ workload: 'append, 1,000 events per call', subject: 'ringstore lmdb noSync (survives process kill, not power loss)', perSec: await appendBatched('lmdb-nosync', N, 1000), baseline: 'emmett 100/call', ratio: 0 });
  rows.push({ workload: 'append, 1,000 events per call, 8 streams at once', subject: 'ringstore lmdb (commits coalesced)', perSec: await appendConcurrent('lmdb', N, 8, 1000), baseline: 'emmett 100/call', ratio: 0 });
  rows.push({ workload: 'append, 1 event per call, 64 streams at once', subject: 'ringstore lmdb (commits coalesced)', perSec: await appendConcurrent('lmdb', 20_000, 64), baseline: 'emmett rr', ratio: 0 });
  rows.push({ workload: 'append, 1 event per call, 1 stream', subject: 'ringstore lmdb (fsync per commit)', perSec: await appendSingle('lmdb', 2_000), baseline: 'emmett 1/call', ratio: 0 });
  const eRead = await emmettRead(10_000);
  rows.push({ workload: 'read 10k-event stream', subject: 'emmett in-memory', perSec: eRead });
  rows.push({ workload: 'read 10k-event stream', subject: 'ringstore memory', perSec: await readFull('memory', 10_000), baseline: 'emmett', ratio: 0 });
  rows.push({ workload: 'read 10k-event stream', subject: 'ringstore memory, first read after the appends', perSec: await readFirst(10_000), baseline: 'emmett', ratio: 0 });
  rows.push({ workload: 'read 10k-event stream', subject: 'ringstore lmdb', perSec: await readFull('lmdb', 10_000), baseline: 'emmett', ratio: 0 });
  for (const r of rows) {
    if (r.baseline === undefined) continue;
    const base = r.workload.startsWith('read') ? eRead : r.baseline === 'emmett rr' ? eRR : r.baseline.includes('1/call') || r.workload.startsWith('append, 1 event') ? eSingle : eBatch;
    r.ratio = r.perSec / base;
  }
  const snapRows: string[] = [];
  for (const kind of ['memory', 'lmdb'] as const) {
    const { full, snap } = await snapshotLoad(kind);
    const saved = 1 - full / snap;
    snapRows.push(`| ${kind} | ${fmt(full)} loads/s | ${fmt(snap)} loads/s | ${(snap / full).toFixed(1)}x | ${(saved * 100).toFixed(1)} % |`);
  }
  const out: string[] = [];
  out.push(`ringstore/streams benchmark — node ${process.version}, ${process.platform}/${process.arch}, N=${N} (one-stream rows: ${N1}), best of ${REPS}`);
  out.push('');
  out.push('| workload | subject | events/s | vs baseline |');
  out.push('|---|---|---:|---:|');
  for (const r of rows) out.push(`| ${r.workload} | ${r.subject} | ${fmt(r.perSec)} | ${r.ratio === undefined ? 'baseline' : `${r.ratio.toFixed(2)}x ${r.baseline}`} |`);
  out.push('');
  out.push('Loading a 10,099-event stream (read + fold), latest snapshot at 10,000:');
  out.push('');
  out.push('| backend | full replay | with snapshot | speed-up | load time saved |');
  out.push('|---|---:|---:|---:|---:|');
  out.push(...snapRows);
  process.stdout.write(`${out.join('\n')}\n`);
}

await run();
