// Model-based test of the versioned streams (`ringstore/streams`, docs/streams.md):
// random command sequences (fc.commands) run against a real StreamStoreProvider
// and against the plain model of streams-model.ts; every call's outcome (value,
// or error code with its fields) must be the model's.
//
// Two providers share one backend, each on its own ManualClock; the clocks drift
// apart (skews move provider 1's, an open that waits moves its provider's), so a
// session may still believe its lease live after the other provider took the
// stream over: its writes must then be fenced off (InvalidStoreSessionError,
// nothing written). Sessions sit in
// 3 slots; opening into a slot drops the session it held unclosed (a crashed
// holder, whose lease blocks the stream until it expires). Two streams with the
// same name and id in two databases (they must not collide).
//
// Commands: open (openTimeoutMs 0: granted or RS_ERR_STORE_OPEN_FAILED; or a wait of
// 50/150 ms, which sleeps on the ManualClock: granted iff the holder's lease ends within
// it), append (0 to 4 events; with or without expectedVersion: right, stale, future,
// invalid; per-event expected versions; ids given from a pool, repeated in one call, ids
// the store generated earlier, or none; the caller's objects are changed after the call),
// retry (the last append with ids again, same or changed data: a duplicate either way),
// burst (2 to 4 appends issued without waiting, maybe then close(): settled in call order),
// renew, close, advance both clocks, skew provider 1's, takeover (provider 1's clock moved
// just past a live lease of provider 0, which then takes the stream), reads (version, read
// with toVersion and useSnapshot, slice, get, versionOf), snapshots (snapshot,
// snapshotEvery, clearSnapshot, clearSnapshots, snapshotVersions, lastSnapshotVersion),
// and reopen: both providers closed (then refused: RS_ERR_CLOSED, and their sessions:
// RS_ERR_STORE_NOT_OPEN), the durable backends closed and opened again on the same
// directory / JetStream stream, everything read back through a new provider (events with
// their ids, metadata and createdAt, snapshots, versionOf of every id). Every sequence
// ends with a reopen.
//
// Backends: memory (native stream logs), memory-kv (nativeStreams: false: the key-value
// layout), lmdb (a temp directory, reopened), nats (the file's nats-server from
// test/nats/server.ts on a free port, a fresh JetStream stream per sequence).
//
// STREAMS_MODEL_RUNS=N sequences per backend (default 50), STREAMS_MODEL_SEED=S
// replays a printed seed, STREAMS_MODEL_BACKENDS=memory,lmdb limits the backends,
// STREAMS_MODEL_PROGRESS=1 prints a line per sequence, STREAMS_MODEL_STATS=1 the
// outcomes per operation, STREAMS_MODEL_DEBUG=1 every sequence run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { LmdbBackend, ManualClock, MemoryBackend, NatsBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';
import type { KeyValueBackend } from '../../dist/src/streams/index.js';
import { sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';
import { SLOTS, START, STREAMS, tally, type Real } from './streams-check.js';
import { AppendCmd, burstArb, RetryCmd, type EvSpec, type Expected } from './streams-append.js';
import { ClockCmd, CloseCmd, OpenCmd, ReadCmd, RenewCmd, ReopenCmd, SnapshotCmd, TakeoverCmd, reopen, type ReadKind, type SnapKind } from './streams-commands.js';
import { StreamsModel } from './streams-model.js';

const slotArb = fc.nat(SLOTS - 1);
const evSpecArb: fc.Arbitrary<EvSpec> = fc.record({
  id: fc.oneof(
    { arbitrary: fc.constant({ kind: 'none' as const }), weight: 3 },
    { arbitrary: fc.nat(9).map((i) => ({ kind: 'pool' as const, i })), weight: 3 },
    { arbitrary: fc.nat(9).map((i) => ({ kind: 'known' as const, i })), weight: 1 },
  ),
  n: fc.integer({ min: -5, max: 20 }),
  meta: fc.constantFrom<0 | 1 | 2>(0, 0, 1, 2),
  ev: fc.oneof({ arbitrary: fc.constant<'none'>('none'), weight: 12 }, { arbitrary: fc.constantFrom<'right' | 'wrong' | 'zero'>('right', 'right', 'wrong', 'zero'), weight: 2 }),
});
const expectedArb: fc.Arbitrary<Expected> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 4 },
  { arbitrary: fc.constant({ kind: 'right' as const }), weight: 4 },
  { arbitrary: fc.nat(2).map((k) => ({ kind: 'stale' as const, k })), weight: 1 },
  { arbitrary: fc.nat(2).map((k) => ({ kind: 'future' as const, k })), weight: 1 },
  { arbitrary: fc.constant({ kind: 'bad' as const }), weight: 1 },
);
const readArb: fc.Arbitrary<ReadKind> = fc.oneof(
  fc.constant({ op: 'version' as const }),
  fc.record({ op: fc.constant('read' as const), to: fc.option(fc.integer({ min: -4, max: 6 }), { nil: undefined }), snap: fc.boolean() }),
  fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 10 })).map(([a, b]) => ({ op: 'slice' as const, a, b })),
  fc.constantFrom(-4, -3, -2, -1, -1, 0, 1, 2, 3, 8).map((v) => ({ op: 'get' as const, v })),
  fc.record({ op: fc.constant('versionOf' as const), i: fc.nat(9), unknown: fc.constantFrom(false, false, false, true) }),
);
const snapArb: fc.Arbitrary<SnapKind> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('snapshot' as const), v: fc.constantFrom(-2, -1, 0, 0, 0, 1, 2, 7), x: fc.nat(99) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('every' as const), chunk: fc.integer({ min: 0, max: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('clear' as const), v: fc.integer({ min: 0, max: 6 }) }), weight: 1 },
  { arbitrary: fc.constant({ op: 'clearAll' as const }), weight: 1 },
  { arbitrary: fc.constant({ op: 'versions' as const }), weight: 1 },
);
const openArb = fc
  .tuple(slotArb, fc.nat(1), fc.nat(STREAMS.length - 1), fc.constantFrom(100, 300, 300, 1_000, 1_000, 1_000, 1_000, 0), fc.constantFrom(0, 0, 0, 50, 150))
  .map(([sl, p, st, t, wait]) => new OpenCmd(sl, p, st, t, wait));
const appendArb = fc.tuple(slotArb, fc.array(evSpecArb, { minLength: 0, maxLength: 4 }), expectedArb).map(([sl, specs, x]) => new AppendCmd(sl, specs, x));
const appendOneArb = fc.tuple(slotArb, fc.array(evSpecArb, { minLength: 1, maxLength: 1 }), expectedArb).map(([sl, specs, x]) => new AppendCmd(sl, specs, x));
const readCmdArb = fc.tuple(slotArb, readArb).map(([sl, k]) => new ReadCmd(sl, k));
const snapCmdArb = fc.tuple(slotArb, snapArb).map(([sl, k]) => new SnapshotCmd(sl, k));
// fc.commands picks among its arbitraries uniformly: the repeats are the weights.
const commands = [
  ...Array<typeof openArb>(4).fill(openArb),
  ...Array<typeof appendArb>(5).fill(appendArb),
  ...Array<typeof appendArb>(3).fill(appendOneArb),
  fc.tuple(slotArb, fc.boolean()).map(([sl, changed]) => new RetryCmd(sl, changed)),
  burstArb(slotArb, evSpecArb, expectedArb),
  ...Array<typeof readCmdArb>(5).fill(readCmdArb),
  ...Array<typeof snapCmdArb>(4).fill(snapCmdArb),
  fc.tuple(slotArb, fc.constantFrom(100, 500, 0)).map(([sl, t]) => new RenewCmd(sl, t)),
  slotArb.map((sl) => new CloseCmd(sl)),
  fc.tuple(fc.constantFrom(10, 40, 99, 100, 150), fc.boolean()).map(([ms, skew]) => new ClockCmd(ms, skew)),
  fc.tuple(fc.constantFrom(10, 40, 99, 100, 150), fc.boolean()).map(([ms, skew]) => new ClockCmd(ms, skew)),
  fc.tuple(slotArb, fc.nat(SLOTS - 2)).map(([sl, into]) => new TakeoverCmd(sl, into)),
  fc.constant(new ReopenCmd()),
];

type Kind = 'memory' | 'memory-kv' | 'lmdb' | 'nats';
const KINDS = (process.env.STREAMS_MODEL_BACKENDS ?? 'memory,memory-kv,lmdb,nats').split(',') as Kind[];
const RUNS = Number(process.env.STREAMS_MODEL_RUNS ?? 50);
const SEED = process.env.STREAMS_MODEL_SEED !== undefined ? Number(process.env.STREAMS_MODEL_SEED) : undefined;

let natsUrl = '';
let natsNames = 0;
afterAll(stopSharedNatsServer);

/** A fresh backend of `kind` and how to reopen it over the same storage. */
async function backendOf(kind: Kind, clock: ManualClock): Promise<{ first: KeyValueBackend; reopen: () => Promise<KeyValueBackend>; cleanup: () => Promise<void> }> {
  if (kind === 'memory' || kind === 'memory-kv') {
    // The provider does not own a backend it was given: a new provider over the same instance sees every stream.
    const b = new MemoryBackend({ clock, nativeStreams: kind === 'memory' });
    return { first: b, reopen: async () => b, cleanup: () => b.close() };
  }
  if (kind === 'lmdb') {
    const dir = mkdtempSync(join(tmpdir(), 'rs-streams-model-'));
    let b = new LmdbBackend({ path: dir, clock, noSync: true });
    return {
      first: b,
      reopen: async () => {
        await b.close();
        b = new LmdbBackend({ path: dir, clock, noSync: true });
        return b;
      },
      cleanup: async () => {
        await b.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (natsUrl === '') natsUrl = (await sharedNatsServer()).url;
  const n = `SM${process.pid}_${++natsNames}`;
  const make = () => new NatsBackend({ servers: natsUrl, stream: n, subjectPrefix: `rsm.${n}`, clock });
  let b = make();
  return {
    first: b,
    reopen: async () => {
      await b.close();
      b = make();
      return b;
    },
    cleanup: () => b.close().catch(() => undefined),
  };
}

describe('versioned streams against a plain model', () => {
  for (const kind of KINDS) {
    let sequences = 0;
    it(`[${kind}] open, append (expected versions, ids, batches), reads, leases across two skewed clocks, snapshots, close, reopen`, async () => {
      const property = fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'max' }), async (cmds) => {
        if (process.env.STREAMS_MODEL_PROGRESS !== undefined) process.stderr.write(`streams model ${kind}: sequence ${++sequences}\n`);
        const clocks = [new ManualClock(START), new ManualClock(START)];
        const b = await backendOf(kind, clocks[0]!);
        const real: Real = { clocks, providers: clocks.map((clock) => new StreamStoreProvider({ clock, backend: b.first })), slots: new Array(SLOTS).fill(undefined), reopenBackend: b.reopen };
        const model = new StreamsModel(STREAMS.length, SLOTS, START);
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          if (process.env.STREAMS_MODEL_DEBUG) process.stderr.write(`${cmds.toString()}\n`);
          await reopen(model, real);
        } finally {
          for (const p of real.providers) await p.close().catch(() => undefined);
          await b.cleanup();
        }
      });
      const out = await fc.check(property, { numRuns: RUNS, seed: SEED });
      if (tally !== undefined) {
        process.stderr.write(`streams model ${kind} outcomes:\n${[...tally].sort().map(([k, n]) => `  ${k}: ${n}`).join('\n')}\n`);
        tally.clear();
      }
      if (out.failed) throw new Error(`streams model [${kind}] failed; replay: STREAMS_MODEL_SEED=${out.seed} STREAMS_MODEL_BACKENDS=${kind}\n${fc.defaultReportMessage(out)}\n${String((out.errorInstance as Error | undefined)?.message ?? out.errorInstance)}`);
    }, Math.max(120_000, RUNS * 4_000));
  }
});
