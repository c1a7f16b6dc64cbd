/**
 * Versioned streams (memory and durable LMDB backends) against Emmett's
 * in-memory event store: appends of 1 event or a batch per call over one or
 * many streams, concurrent streams sharing LMDB commits, reads, and loading a
 * stream from its snapshot against a full replay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyValueBackend, NewEvent, StreamEvent, StreamStoreProvider } from '../../../src/streams/index.js';
import { missing } from '../optional.js';
import { loadEmmett, now, redisPeer, type EmmettStore } from '../peers.js';
import type { Case, CaseResult, Sample, Scenario, Target } from '../types.js';

type Streams = typeof import('../../../src/streams/index.js');
/** `memory` keeps streams in native logs (the default); `memory-kv` as key-value records, the layout of the other backends. */
type Kind = 'memory' | 'memory-kv' | 'lmdb' | 'lmdb-nosync';
type Session = Awaited<ReturnType<StreamStoreProvider['open']>>;
type EmmettEvent = { type: string; data: Record<string, unknown> };

const ev = (i: number): NewEvent => ({ type: 'Deposited', data: { amount: i, note: 'bench' } });
/** `n` events from `base`. A plain loop: `Array.from({ length }, fn)` costs ~0.4 µs per call, as much as a whole append. */
function batchOf(n: number, base: number): NewEvent[] {
  const out: NewEvent[] = new Array(n);
  for (let j = 0; j < n; j++) out[j] = ev(base + j);
  return out;
}

const E_RR = 'peer: Emmett in-memory, 1 event per call, streams round-robin';
const E_ONE = 'peer: Emmett in-memory, 1 event per call, 1 stream';
const E_BATCH = 'peer: Emmett in-memory, batch per call';
const E_READ = 'peer: Emmett in-memory readStream';
/** Emmett copies a stream on each append (quadratic): one-stream rows stay this short. */
const ONE_STREAM_MAX = 20_000;
/** Reads of the whole stream per round (one read of 10k events is too short to time). */
const READS = 10;
/** Loads of the snapshot stream per round. */
const LOADS = 20;

/** The targets, in the terms of their rows. */
const TEN_X_EMMETT: Target = { text: '>= 10x Emmett in-memory', met: (c) => c.ratio >= 10 };
const DURABLE: Target = { text: '>= 200k events/s with batched commits', met: (c) => c.median >= 200_000 };
const SNAPSHOT_LOAD: Target = { text: '>= 80% faster than a full replay', met: (c: CaseResult) => 1 - 1 / c.ratio >= 0.8 };

let uniq = 0;

interface Opened {
  provider: StreamStoreProvider;
  /** Closes the provider and the backend, and removes an LMDB directory. */
  close(): Promise<void>;
}

/** A provider on a new backend of `kind` (LMDB in a new temporary directory). */
function openProvider(s: Streams, kind: Kind): Opened {
  const memory = kind === 'memory' || kind === 'memory-kv';
  const dir = memory ? '' : mkdtempSync(join(tmpdir(), 'rs-harness-'));
  const backend: KeyValueBackend = memory ? new s.MemoryBackend({ nativeStreams: kind === 'memory' }) : new s.LmdbBackend({ path: dir, noSync: kind === 'lmdb-nosync' });
  const provider = new s.StreamStoreProvider({ backend });
  return {
    provider,
    async close() {
      await provider.close();
      await backend.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function withProvider(s: Streams, kind: Kind, fn: (p: StreamStoreProvider) => Promise<Sample>): Promise<Sample> {
  const opened = openProvider(s, kind);
  try {
    return await fn(opened.provider);
  } finally {
    await opened.close();
  }
}

/** `n` events over `streams` sessions, `batch` events per append; `concurrent` runs the sessions at once. */
function appendCase(s: Streams, name: string, vs: string, kind: Kind, n: number, streams: number, batch: number, concurrent: boolean, target?: Target): Case {
  return {
    name, role: 'subject', vs, ...(target ? { target } : {}),
    run: () => withProvider(s, kind, async (provider) => {
      const sessions = await Promise.all(Array.from({ length: streams }, () => provider.open(`Bench/s-${uniq++}`)));
      let ops = 0;
      const t = now();
      if (concurrent) {
        await Promise.all(sessions.map(async (x) => {
          for (let i = 0; i < n / streams; i += batch, ops += batch) await x.append(batchOf(batch, i));
        }));
      } else {
        for (let i = 0; i < n; i += batch, ops += batch) await sessions[(i / batch) % streams].append(batchOf(batch, i));
      }
      const ms = now() - t;
      await Promise.all(sessions.map((x) => x.close()));
      return { ops, ms };
    }),
  };
}

/** Reads a `readN`-event stream `READS` times per round; `first` reads a freshly appended stream once per round instead. */
function readCase(s: Streams, name: string, kind: Kind, readN: number, first = false): Case {
  let opened: Opened | undefined;
  let session: Session | undefined;
  const fill = async (stream: string): Promise<Session> => {
    const x = await opened!.provider.open(stream);
    for (let i = 0; i < readN; i += 1000) await x.append(batchOf(Math.min(1000, readN - i), i));
    return x;
  };
  return {
    name, role: 'subject', vs: E_READ,
    async setup() {
      opened = openProvider(s, kind);
      session = await fill('Bench/read');
    },
    async run() {
      if (first) {
        await session!.close();
        session = await fill(`Bench/read-first-${uniq++}`);
      }
      const reads = first ? 1 : READS;
      const t = now();
      for (let i = 0; i < reads; i++) {
        const got = (await session!.read()).events.length;
        if (got !== readN) throw new Error(`read ${got} of ${readN} events`);
      }
      return { ops: reads * readN, ms: now() - t };
    },
    async teardown() {
      await session?.close();
      await opened?.close();
    },
  };
}

type Balance = { balance: number; count: number };
const evolve = (st: Balance | undefined, events: readonly StreamEvent[]): Balance => {
  let b = st ?? { balance: 0, count: 0 };
  for (const e of events) b = { balance: b.balance + (e.data as { amount: number }).amount, count: b.count + 1 };
  return b;
};

/** Loading (read + fold) a 10,099-event stream, latest snapshot at 10,000: a full replay, and from the snapshot. */
function snapshotLoadCases(s: Streams, kind: 'memory' | 'lmdb'): Case[] {
  let opened: Opened | undefined;
  let session: Session;
  let expected: Balance;
  const full = `ringstore streams ${kind}, load a 10,099-event stream by full replay`;
  const timed = async (load: () => Promise<Balance>): Promise<Sample> => {
    const t = now();
    for (let i = 0; i < LOADS; i++) {
      const b = await load();
      if (b.balance !== expected.balance) throw new Error(`loaded balance ${b.balance}, expected ${expected.balance}`);
    }
    return { ops: LOADS, ms: now() - t };
  };
  return [
    {
      name: full, role: 'subject', op: 'loads',
      async setup() {
        opened = openProvider(s, kind);
        session = await opened.provider.open('Bench/snap');
        for (let i = 0; i < 10_000; i += 1000) await session.append(batchOf(1000, i));
        await session.snapshotEvery<Balance>(1_000, (st, evs) => evolve(st, evs));
        await session.append(batchOf(99, 10_000));
        expected = evolve(undefined, (await session.read()).events);
      },
      run: () => timed(async () => evolve(undefined, (await session.read()).events)),
      async teardown() {
        await session?.close();
        await opened?.close();
      },
    },
    {
      name: `ringstore streams ${kind}, load the same stream from its snapshot`, role: 'subject', op: 'loads', vs: full, target: SNAPSHOT_LOAD,
      run: () => timed(async () => {
        const { snapshot, events } = await session.read<Balance>({ useSnapshot: true });
        return evolve(snapshot!.state, events);
      }),
    },
  ];
}

function emmettPeers(getStore: () => EmmettStore, n: number, n1: number, streams: number, batch: number, readN: number): Case[] {
  const readStore = getStore();
  const timedAppends = async (count: number, step: number, append: (es: EmmettStore, i: number, base: number) => Promise<unknown>): Promise<Sample> => {
    const es = getStore();
    const base = uniq++;
    const t = now();
    for (let i = 0; i < count; i += step) await append(es, i, base);
    return { ops: count, ms: now() - t };
  };
  return [
    { name: E_RR, role: 'peer', run: () => timedAppends(n, 1, (es, i, base) => es.appendToStream(`Bench-${base}-${i % streams}`, [ev(i) as EmmettEvent])) },
    { name: E_ONE, role: 'peer', run: () => timedAppends(n1, 1, (es, i, base) => es.appendToStream(`Bench-${base}`, [ev(i) as EmmettEvent])) },
    { name: E_BATCH, role: 'peer', run: () => timedAppends(n1, batch, (es, i, base) => es.appendToStream(`Bench-batch-${base}`, batchOf(batch, i) as EmmettEvent[])) },
    {
      name: E_READ, role: 'peer',
      async setup() {
        for (let i = 0; i < readN; i += 1000) await readStore.appendToStream('Bench-read', batchOf(Math.min(1000, readN - i), i) as EmmettEvent[]);
      },
      async run() {
        const t = now();
        for (let i = 0; i < READS; i++) {
          const got = (await readStore.readStream('Bench-read')).events.length;
          if (got !== readN) throw new Error(`read ${got} of ${readN} events`);
        }
        return { ops: READS * readN, ms: now() - t };
      },
    },
  ];
}

export const streamsScenario: Scenario = {
  name: 'streams',
  title: 'Versioned streams, memory and durable (LMDB)',
  description:
    'StreamStoreProvider sessions appending small events (1 per call over streams round-robin or on one stream, or a batch per call) on the memory backend (native logs, and the key-value layout) ' +
    'and on LMDB (fsync per commit unless noted; concurrent streams share commits); reading a stream; and loading a 10,099-event stream from its snapshot against a full replay. ' +
    "Each against Emmett's in-memory event store doing the same work in the same run.",
  reference: E_RR,
  default: true,
  params: {
    events: { default: 20_000, help: `events appended per round and case (one-stream rows: at most ${ONE_STREAM_MAX})` },
    streams: { default: 100, help: 'streams written round-robin' },
    batch: { default: 100, help: 'events per call in the batch rows' },
    bigBatch: { default: 1000, help: 'events per call in the large-batch LMDB rows' },
    lmdbSingle: { default: 2000, help: 'events of the 1-event-per-call LMDB row (one fsync each)' },
    read: { default: 10_000, help: 'events in the read stream' },
  },
  async pending() {
    return missing('lmdb');
  },
  async cases(ctx) {
    const s: Streams = await import('../../../src/streams/index.js');
    const n = Number(ctx.params.events);
    const n1 = Math.min(n, ONE_STREAM_MAX);
    const streams = Number(ctx.params.streams);
    const batch = Number(ctx.params.batch);
    const big = Number(ctx.params.bigBatch);
    const readN = Number(ctx.params.read);
    const kv = 'key-value layout (nativeStreams: false)';
    const cases: Case[] = [
      appendCase(s, `ringstore streams memory, 1 event per call, ${streams} streams round-robin`, E_RR, 'memory', n, streams, 1, false, TEN_X_EMMETT),
      appendCase(s, `ringstore streams memory, ${kv}, 1 event per call, ${streams} streams round-robin`, E_RR, 'memory-kv', n, streams, 1, false),
      appendCase(s, 'ringstore streams memory, 1 event per call, 1 stream', E_ONE, 'memory', n1, 1, 1, false, TEN_X_EMMETT),
      appendCase(s, 'ringstore streams lmdb (fsync per commit), 1 event per call, 1 stream', E_ONE, 'lmdb', Number(ctx.params.lmdbSingle), 1, 1, false),
      appendCase(s, `ringstore streams memory, ${batch} events per call`, E_BATCH, 'memory', n1, 1, batch, false, TEN_X_EMMETT),
      appendCase(s, `ringstore streams memory, ${kv}, ${batch} events per call`, E_BATCH, 'memory-kv', n1, 1, batch, false),
      appendCase(s, `ringstore streams lmdb (fsync per commit), ${batch} events per call`, E_BATCH, 'lmdb', n1, 1, batch, false),
      appendCase(s, `ringstore streams lmdb noSync, ${batch} events per call`, E_BATCH, 'lmdb-nosync', n1, 1, batch, false),
      appendCase(s, `ringstore streams lmdb (fsync per commit), ${big} events per call`, E_BATCH, 'lmdb', n, 1, big, false, DURABLE),
      appendCase(s, `ringstore streams lmdb noSync (survives a process kill, not a power loss), ${big} events per call`, E_BATCH, 'lmdb-nosync', n, 1, big, false),
      appendCase(s, `ringstore streams lmdb (fsync), ${big} events per call, 8 streams at once (commits coalesced)`, E_BATCH, 'lmdb', Math.max(n, 8 * big), 8, big, true),
      appendCase(s, 'ringstore streams lmdb (fsync), 1 event per call, 64 streams at once (commits coalesced)', E_RR, 'lmdb', Math.min(n, 6400), 64, 1, true),
      readCase(s, `ringstore streams memory, read a ${readN}-event stream`, 'memory', readN),
      readCase(s, `ringstore streams memory, first read of a ${readN}-event stream just appended`, 'memory', readN, true),
      readCase(s, `ringstore streams lmdb, read a ${readN}-event stream`, 'lmdb', readN),
      ...snapshotLoadCases(s, 'memory'),
      ...snapshotLoadCases(s, 'lmdb'),
    ];
    if (ctx.subjectsOnly) return cases;
    const emmett = await loadEmmett();
    const peers = typeof emmett === 'string'
      ? [E_RR, E_ONE, E_BATCH, E_READ].map((name): Case => ({ name, role: 'peer', skip: emmett, run: () => ({ ops: 0, ms: 0 }) }))
      : emmettPeers(emmett, n, n1, streams, batch, readN);
    return [
      ...cases,
      ...peers,
      await redisPeer(ctx, Array.from({ length: 1024 }, (_, i) => ev(i)), n, 1_000_000, (e) => `s-${(e.data as { amount: number }).amount % streams}`, 'peer: Redis Streams XADD, streams round-robin (ioredis, pipelined)'),
    ];
  },
};
