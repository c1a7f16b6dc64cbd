/** Versioned streams (memory and durable LMDB backends) against Emmett's in-memory event store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getInMemoryEventStore } from '@event-driven-io/emmett';
import { LmdbBackend, MemoryBackend, StreamStoreProvider, type KeyValueBackend, type NewEvent } from '../../../src/streams/index.js';
import { now, redisPeer } from '../peers.js';
import type { Case, Sample, Scenario } from '../types.js';

type Kind = 'memory' | 'lmdb' | 'lmdb-nosync';
const ev = (i: number): NewEvent => ({ type: 'Deposited', data: { amount: i, note: 'bench' } });
/** `n` events from `base`. A plain loop: `Array.from({ length }, fn)` costs ~0.4 µs per call, as much as a whole append. */
function batchOf(n: number, base: number): NewEvent[] {
  const out: NewEvent[] = new Array(n);
  for (let j = 0; j < n; j++) out[j] = ev(base + j);
  return out;
}
type EmmettEvent = { type: string; data: Record<string, unknown> };

const E_RR = 'peer: Emmett in-memory, 1 event per call, streams round-robin';
const E_BATCH = 'peer: Emmett in-memory, batch per call';
const E_READ = 'peer: Emmett in-memory readStream';

let uniq = 0;
/** Reads of the whole stream per round (one read of 10k events is too short to time). */
const READS = 10;

async function withProvider(kind: Kind, fn: (p: StreamStoreProvider) => Promise<Sample>): Promise<Sample> {
  const dir = kind === 'memory' ? '' : mkdtempSync(join(tmpdir(), 'rs-harness-'));
  const backend: KeyValueBackend = kind === 'memory' ? new MemoryBackend() : new LmdbBackend({ path: dir, noSync: kind === 'lmdb-nosync' });
  const provider = new StreamStoreProvider({ backend });
  try {
    return await fn(provider);
  } finally {
    await provider.close();
    await backend.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** `n` events over `streams` sessions, `batch` events per append; `concurrent` runs the sessions at once. */
function appendCase(name: string, vs: string, kind: Kind, n: number, streams: number, batch: number, concurrent: boolean): Case {
  return {
    name, role: 'subject', vs,
    run: () => withProvider(kind, async (provider) => {
      const sessions = await Promise.all(Array.from({ length: streams }, () => provider.open(`Bench/s-${uniq++}`)));
      const t = now();
      if (concurrent) {
        await Promise.all(sessions.map(async (s) => {
          for (let i = 0; i < n / streams; i += batch) await s.append(batchOf(batch, i));
        }));
      } else {
        for (let i = 0; i < n; i += batch) await sessions[(i / batch) % streams].append(batchOf(batch, i));
      }
      const ms = now() - t;
      await Promise.all(sessions.map((s) => s.close()));
      return { ops: n, ms };
    }),
  };
}

export const streamsScenario: Scenario = {
  name: 'streams',
  title: 'Versioned streams, memory and durable (LMDB)',
  description:
    'StreamStoreProvider sessions appending small events (1 per call over streams round-robin, or a batch per call) on the memory and LMDB backends ' +
    '(fsync per commit unless noted), and reading a 10k-event stream, each against Emmett\'s in-memory event store doing the same work in the same run.',
  reference: E_RR,
  default: true,
  params: {
    events: { default: 20_000, help: 'events appended per round and case' },
    streams: { default: 100, help: 'streams written round-robin' },
    batch: { default: 100, help: 'events per call in the batch rows' },
    read: { default: 10_000, help: 'events in the read stream' },
  },
  cases(ctx) {
    const n = Number(ctx.params.events);
    const streams = Number(ctx.params.streams);
    const batch = Number(ctx.params.batch);
    const readN = Number(ctx.params.read);
    let readProvider: StreamStoreProvider;
    let readSession: Awaited<ReturnType<StreamStoreProvider['open']>>;
    const cases: Case[] = [
      appendCase(`ringstore streams memory, 1 event per call, ${streams} streams round-robin`, E_RR, 'memory', n, streams, 1, false),
      appendCase(`ringstore streams memory, ${batch} events per call`, E_BATCH, 'memory', n, 1, batch, false),
      appendCase(`ringstore streams lmdb (fsync per commit), ${batch} events per call`, E_BATCH, 'lmdb', n, 1, batch, false),
      appendCase(`ringstore streams lmdb noSync, ${batch} events per call`, E_BATCH, 'lmdb-nosync', n, 1, batch, false),
      appendCase('ringstore streams lmdb (fsync), 1 event per call, 64 streams at once (commits coalesced)', E_RR, 'lmdb', Math.min(n, 6400), 64, 1, true),
      {
        name: `ringstore streams memory, read a ${readN}-event stream`, role: 'subject', vs: E_READ,
        async setup() {
          readProvider = new StreamStoreProvider({ backend: new MemoryBackend() });
          readSession = await readProvider.open('Bench/read');
          for (let i = 0; i < readN; i += 1000) await readSession.append(batchOf(Math.min(1000, readN - i), i));
        },
        async run() {
          const t = now();
          for (let i = 0; i < READS; i++) {
            const got = (await readSession.read()).events.length;
            if (got !== readN) throw new Error(`read ${got} of ${readN} events`);
          }
          return { ops: READS * readN, ms: now() - t };
        },
        async teardown() {
          await readSession.close();
          await readProvider.close();
        },
      },
    ];
    if (ctx.subjectsOnly) return cases;
    const emmettRead = getInMemoryEventStore();
    return (async () => [
      ...cases,
      {
        name: E_RR, role: 'peer',
        async run() {
          const es = getInMemoryEventStore();
          const base = uniq++;
          const t = now();
          for (let i = 0; i < n; i++) await es.appendToStream(`Bench-${base}-${i % streams}`, [ev(i) as EmmettEvent]);
          return { ops: n, ms: now() - t };
        },
      },
      {
        name: E_BATCH, role: 'peer',
        async run() {
          const es = getInMemoryEventStore();
          const t = now();
          for (let i = 0; i < n; i += batch) await es.appendToStream('Bench-batch', batchOf(batch, i) as EmmettEvent[]);
          return { ops: n, ms: now() - t };
        },
      },
      {
        name: E_READ, role: 'peer',
        async setup() {
          for (let i = 0; i < readN; i += 1000) await emmettRead.appendToStream('Bench-read', batchOf(Math.min(1000, readN - i), i) as EmmettEvent[]);
        },
        async run() {
          const t = now();
          for (let i = 0; i < READS; i++) {
            const got = (await emmettRead.readStream('Bench-read')).events.length;
            if (got !== readN) throw new Error(`read ${got} of ${readN} events`);
          }
          return { ops: READS * readN, ms: now() - t };
        },
      },
      await redisPeer(ctx, Array.from({ length: 1024 }, (_, i) => ev(i)), n, 1_000_000, (e) => `s-${(e.data as { amount: number }).amount % streams}`, 'peer: Redis Streams XADD, streams round-robin (ioredis, pipelined)'),
    ])();
  },
};
