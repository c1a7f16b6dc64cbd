/**
 * Durability (issue 12): ingest into a durable store in each fsync mode against the same store in memory
 * and against Redis Streams with `appendonly yes` at `appendfsync always` and `everysec` (pipelined XADD,
 * each on its own redis-server in a temporary directory); and the restore of a log of N events against a
 * bare sequential read and JSON parse of the same segment files.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventStore, MetricStore, type DurableMetricStore } from '../../../src/index.js';
import { FRAME_HEADER_BYTES, FrameType } from '../../../src/durability/frame.js';
import { Rec, RecKind, recordTextAt } from '../../../src/ring/record.js';
import { now } from '../peers.js';
import { startRedis, type RedisPeer } from '../redis.js';
import type { Case, CaseResult, Scenario, Target } from '../types.js';
import { appendRound, makeEvents, POOL, type BenchEvent } from './common.js';

const MEMORY = 'ringstore in memory: tryAppend + flush, 2 partitions';
const REDIS_ALWAYS = 'peer: Redis XADD pipelined, appendonly yes, appendfsync always';
const REDIS_EVERYSEC = 'peer: Redis XADD pipelined, appendonly yes, appendfsync everysec';
const READ_PARSE = 'floor: sequential read + JSON.parse of the same segment files';
const METRIC_MEMORY = 'MetricStore in memory: add(key, value, ts), 1024 keys';
const METRIC_KEYS = Array.from({ length: 1024 }, (_, i) => `host-${i}.cpu`);

/** `n` samples into a metric store (a durable one resolves its last batch on `flush`). */
async function addRound(store: MetricStore | DurableMetricStore, n: number, from: number): Promise<{ ops: number; ms: number }> {
  const t = now();
  for (let i = 0; i < n; i++) void store.add(METRIC_KEYS[i & 1023], i * 0.5, from + i);
  if (!(store instanceof MetricStore)) await store.flush();
  return { ops: n, ms: now() - t };
}
/** The drain frame's meta block before the input-ring bytes (src/partition/partition-log.ts). */
const META_BYTES = 64;

const median = (all: readonly CaseResult[], name: string): number => all.find((r) => r.name.startsWith(name))?.median ?? NaN;
/** At least `x` times the named case (null when it did not run). */
function atLeast(x: number, of: string, label: string): Target {
  return { text: `>= ${x}x ${label}`, met: (c, all) => (Number.isFinite(median(all, of)) ? c.median >= x * median(all, of) : null) };
}
function both(a: Target, b: Target): Target {
  return {
    text: `${a.text}; ${b.text}`,
    met: (c, all) => {
      const x = a.met(c, all);
      const y = b.met(c, all);
      return x === null || y === null ? null : x && y;
    },
  };
}

const options = (dir: string | null, capacity: number, fsync: 'always' | 'interval' | 'never' = 'interval') => ({
  capacity, partitions: 2, key: 'user', values: { amount: 'amount' },
  ...(dir !== null ? { durability: { dir, fsync, checkpointIntervalMs: 3_600_000 } } : {}),
});

/**
 * Events of every EVENTS frame of the segment files under `dir`, the bare way: read each file, step from
 * frame to frame by the length field (no checksum), walk the records, and JSON.parse each payload.
 */
function readAndParse(dir: string): number {
  const dec = new TextDecoder();
  let events = 0;
  for (const p of readdirSync(dir).filter((f) => /^p\d+$/.test(f))) {
    const logDir = path.join(dir, p, 'log');
    for (const file of readdirSync(logDir).filter((f) => f.endsWith('.seg')).sort()) {
      const buf = readFileSync(path.join(logDir, file));
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      for (let fo = 0; fo + FRAME_HEADER_BYTES <= buf.length;) {
        const length = view.getUint32(fo + 4, true);
        if (length < FRAME_HEADER_BYTES) break;
        if (buf[fo + 8] === FrameType.EVENTS) {
          const end = fo + length;
          for (let off = fo + FRAME_HEADER_BYTES + META_BYTES; off < end;) {
            const len = view.getInt32(off + Rec.LENGTH * 4, true);
            if (len <= 0) break;
            if ((view.getInt32(off + Rec.KIND * 4, true) & 0xff) === RecKind.EVENT) {
              const at = recordTextAt(off, 1) + view.getInt32(off + Rec.ID_LEN * 4, true) + view.getInt32(off + Rec.KEY_LEN * 4, true) + view.getInt32(off + Rec.TYPE_LEN * 4, true);
              JSON.parse(dec.decode(buf.subarray(at, at + view.getInt32(off + Rec.PAYLOAD_LEN * 4, true))));
              events++;
            }
            off += len;
          }
        }
        fo += (length + 7) & ~7;
      }
    }
  }
  return events;
}

async function redisAofPeer(name: string, fsync: 'always' | 'everysec', pool: readonly BenchEvent[], n: number, capacity: number): Promise<Case> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rs-bench-redis-'));
  const redis = await startRedis(undefined, ['--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', fsync]).catch((err: Error) => err.message);
  if (typeof redis === 'string') {
    rmSync(dir, { recursive: true, force: true });
    return { name, role: 'peer', skip: redis, run: () => ({ ops: 0, ms: 0 }) };
  }
  const peer: RedisPeer = redis;
  return {
    name: `${name}, redis ${peer.version}`,
    role: 'peer',
    setup: async () => void (await peer.client.flushall()),
    async run() {
      const t = now();
      for (let i = 0; i < n; i += 1000) {
        const p = peer.client.pipeline();
        for (let j = i; j < Math.min(n, i + 1000); j++) {
          const e = pool[j % pool.length];
          p.xadd(`rs:${e.user}`, 'MAXLEN', '~', String(capacity), '*', 'd', JSON.stringify(e));
        }
        await p.exec();
      }
      return { ops: n, ms: now() - t };
    },
    async teardown() {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const durabilityScenario: Scenario = {
  name: 'durability',
  title: 'Durable stores: ingest per fsync mode against memory and Redis AOF; restore against read + parse',
  description:
    'tryAppend of a ~140-byte event from the main thread into 2 partitions, then flush (events committed per second), into a store in memory and ' +
    'durable stores (segment log per partition, one frame and, under always, one fdatasync per drain); Redis Streams with appendonly yes, pipelined ' +
    'XADD of the same events, 1000 per pipeline. MetricStore: add() of 1024 keys into memory and into durable stores (one frame per tick or 64k adds). Restore: EventStore.open of a data directory holding N events in its log and no checkpoint ' +
    '(verify, replay through the committer), against reading the same segment files and JSON.parse of every event.',
  reference: MEMORY,
  default: true,
  params: {
    events: { default: 200_000, help: 'events appended per round and ingest case' },
    samples: { default: 1_000_000, help: 'MetricStore samples added per round and case (capacity 2^20)' },
    restore: { default: 1_000_000, help: 'events in the log the restore rows read' },
  },
  cases(ctx) {
    const n = Number(ctx.params.events);
    const nRestore = Number(ctx.params.restore);
    const capacity = 1 << 20;
    const pool = makeEvents(POOL, 1);
    const root = mkdtempSync(path.join(tmpdir(), 'rs-bench-durable-'));
    const cases: Case[] = [];
    let memory: EventStore<BenchEvent>;
    let start = 0;
    cases.push({
      name: MEMORY, role: 'subject',
      setup: () => void (memory = EventStore.create<BenchEvent>(options(null, capacity))),
      run: () => appendRound(memory, pool, n, (start += n)),
      teardown: () => memory.close(),
    });
    const modes: ['never' | 'interval' | 'always', Target][] = [
      ['never', atLeast(0.8, MEMORY, 'in memory')],
      ['interval', both(atLeast(0.8, MEMORY, 'in memory'), atLeast(1.0, REDIS_EVERYSEC, 'Redis everysec'))],
      ['always', atLeast(1.0, REDIS_ALWAYS, 'Redis always')],
    ];
    for (const [fsync, target] of modes) {
      let store: EventStore<BenchEvent>;
      const dir = path.join(root, `ingest-${fsync}`);
      cases.push({
        name: `ringstore durable, fsync ${fsync}: tryAppend + flush, 2 partitions`, role: 'subject', target,
        ...(fsync === 'always' ? { vs: REDIS_ALWAYS } : {}),
        setup: async () => void (store = await EventStore.open<BenchEvent>(options(dir, capacity, fsync))),
        run: () => appendRound(store, pool, n, (start += n)),
        teardown: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    }
    // MetricStore: the same adds into memory and into durable stores (one frame per 64k adds or per tick).
    const nSamples = Number(ctx.params.samples);
    let metrics: MetricStore;
    let at = 0;
    cases.push({
      name: METRIC_MEMORY, role: 'subject', vs: METRIC_MEMORY,
      setup: () => void (metrics = MetricStore.create({ capacity: capacity, partitions: 1 })),
      run: () => addRound(metrics, nSamples, (at += nSamples)),
    });
    for (const fsync of ['never', 'interval', 'always'] as const) {
      let store: DurableMetricStore;
      let dir: string; // its own: the restore rows remove `root` in their teardown, which may come first
      cases.push({
        name: `MetricStore durable, fsync ${fsync}: add + flush, 1024 keys`, role: 'subject', vs: METRIC_MEMORY,
        setup: async () => {
          dir = mkdtempSync(path.join(tmpdir(), `rs-bench-metric-${fsync}-`));
          store = await MetricStore.open({ capacity, partitions: 1, durability: { dir, fsync } });
        },
        run: () => addRound(store, nSamples, (at += nSamples)),
        teardown: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    }
    // Restore: a pristine directory with nRestore events in its log (the checkpoint a clean close writes is removed), copied before each round.
    const pristine = path.join(root, 'restore-pristine');
    const work = path.join(root, 'restore-work');
    // Room for every event in the partition the hash gives the most (users spread unevenly over 2 partitions).
    const restoreCapacity = Math.max(1024, Math.ceil(nRestore * 1.25));
    const restoreOpts = () => ({ ...options(work, restoreCapacity, 'never'), payloadBytes: restoreCapacity * 192 });
    // Written by a child process that is killed once every event is committed: no clean close, so no
    // checkpoint, and the restore replays the whole log (the slow path; after a clean stop it loads a checkpoint).
    const makePristine = (): void => {
      const script = [
        `import { EventStore } from ${JSON.stringify(new URL('../../../src/index.js', import.meta.url).href)};`,
        `import { makeEvents } from ${JSON.stringify(new URL('../events.js', import.meta.url).href)};`,
        `const pool = makeEvents(${POOL}, 1);`,
        `const s = await EventStore.open(${JSON.stringify({ ...restoreOpts(), durability: { dir: pristine, fsync: 'never', checkpointIntervalMs: 86_400_000 } })});`,
        `for (let i = 0; i < ${nRestore};) { if (s.tryAppend(pool[i & ${POOL - 1}])) i++; else await s.flush(); }`,
        'await s.flush();',
        "process.kill(process.pid, 'SIGKILL');",
      ].join('\n');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.signal !== 'SIGKILL') throw new Error(`the process writing the log failed: ${r.stderr}`);
    };
    cases.push({
      name: `ringstore restore of ${nRestore.toLocaleString('en')} events (EventStore.open, log only)`, role: 'subject', vs: READ_PARSE,
      target: { text: '>= 0.33x (at most 3x the time)', met: (c) => c.ratio >= 1 / 3 },
      setup: makePristine,
      async run() {
        rmSync(work, { recursive: true, force: true });
        cpSync(pristine, work, { recursive: true });
        const t = now();
        const s = await EventStore.open<BenchEvent>(restoreOpts());
        const ms = now() - t;
        const live = s.stats.live;
        await s.close();
        if (live !== nRestore) throw new Error(`restore gave ${live} events, not ${nRestore}`);
        return { ops: live, ms };
      },
      ...(ctx.subjectsOnly ? { teardown: () => rmSync(root, { recursive: true, force: true }) } : {}),
    });
    if (ctx.subjectsOnly) return cases;
    cases.push({
      name: READ_PARSE, role: 'floor',
      run() {
        const t = now();
        const events = readAndParse(pristine);
        const ms = now() - t;
        if (events !== nRestore) throw new Error(`read ${events} events, not ${nRestore}`);
        return { ops: events, ms };
      },
      teardown: () => rmSync(root, { recursive: true, force: true }),
    });
    return (async () => [
      ...cases,
      await redisAofPeer(REDIS_ALWAYS, 'always', pool, n, capacity),
      await redisAofPeer(REDIS_EVERYSEC, 'everysec', pool, n, capacity),
    ])();
  },
};
