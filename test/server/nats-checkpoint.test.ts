// Shared checkpoints of the ring stores under `ringstore serve --nats` (issue 13): a daemon started after
// the log's retention dropped its first messages loads the newest checkpoint and applies the log after it,
// so that its positions, versions, conflicts and duplicates are those of a daemon that saw the whole log.
// Without a checkpoint that covers the dropped messages it refuses to start (RS_ERR_REPLICATION_GAP).
// Each case has its own nats-server (the logs' names are fixed).
import { spawn } from 'node:child_process';
import { connect, nanos } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import { startSingleServer, type NatsServerProcess } from '../nats/server.js';
import { json, raw, startDaemon, type TestDaemon } from './helpers.js';
import { freePort, MAIN } from './process.js';

/** The log keeps CAPACITY messages; 2 partitions of 16 events each. */
const CAPACITY = 32;
/** The checkpointing daemon writes one every EVERY messages. */
const EVERY = 8;
const STREAMS = 5;

let nats: NatsServerProcess | undefined;
const daemons: TestDaemon[] = [];
afterEach(async () => {
  await Promise.allSettled(daemons.splice(0).map((d) => d.close()));
  await nats?.stop();
  nats = undefined;
});

async function daemon(every: number): Promise<TestDaemon> {
  const d = await startDaemon({ nats: [nats!.url], capacity: CAPACITY, natsCheckpointEvery: every, natsCheckpointMinMs: 0 });
  daemons.push(d);
  return d;
}

async function withJsm<T>(fn: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: [nats!.url] });
  try {
    return await fn(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

/** Log sequence the newest /streams checkpoint covers (0: none). */
const checkpointSeq = (): Promise<number> => withJsm(async (jsm) => {
  const m = await jsm.streams.getMessage('RINGSTORE_RING_CHECKPOINTS', { last_by_subj: 'ringstore.ring-ckpt.streams.m' }).catch(() => null);
  return m === null ? 0 : (m.json<{ seq: number }>()).seq;
});

/** Messages per subject of the checkpoint stream. */
const checkpointSubjects = (): Promise<Record<string, number>> => withJsm(async (jsm) => (await jsm.streams.info('RINGSTORE_RING_CHECKPOINTS', { subjects_filter: '>' })).state.subjects ?? {});

const logState = (): Promise<{ first: number; last: number; messages: number }> => withJsm(async (jsm) => {
  const s = (await jsm.streams.info('RINGSTORE_RING_STREAMS')).state;
  return { first: s.first_seq, last: s.last_seq, messages: s.messages };
});

async function eventually(fn: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Posts `n` batches on `d`, one after the other (one log message each): batches of 1-3 events over
 * STREAMS streams, every third with an idempotency key, every fourth with the right expected version,
 * every seventh with a stale one (a 409, a message all the same), every fifth with a metric too.
 */
class Workload {
  readonly versions = new Map<string, number>();
  /** First answer per idempotency key. */
  readonly keyed = new Map<string, { stream: string; body: unknown }>();
  n = 0;
  async post(d: TestDaemon, count: number): Promise<void> {
    for (let k = 0; k < count; k++) {
      const i = ++this.n;
      const stream = `s${i % STREAMS}`;
      const headers: Record<string, string> = {};
      const version = this.versions.get(stream) ?? 0;
      if (i % 3 === 0) headers['idempotency-key'] = `k-${i}`;
      if (i % 7 === 0 && version > 0) headers['expected-version'] = String(version - 1);
      else if (i % 4 === 0) headers['expected-version'] = String(version);
      const events = Array.from({ length: 1 + (i % 3) }, (_, j) => ({ valor: i * 10 + j, gatewayId: `g${j}` }));
      const r = await raw(`${d.url}/streams/${stream}`, json(headers['idempotency-key'] !== undefined ? events[0] : events, headers));
      if (i % 7 === 0 && version > 0) expect(r.status, `post ${i}`).toBe(409);
      else {
        expect(r.status, `post ${i}: ${JSON.stringify(r.body)}`).toBe(202);
        const last = Array.isArray(r.body) ? r.body.at(-1) : r.body;
        this.versions.set(stream, (last as { version: number }).version);
        if (headers['idempotency-key'] !== undefined) this.keyed.set(headers['idempotency-key'], { stream, body: r.body });
      }
      if (i % 5 === 0) expect((await raw(`${d.url}/metrics`, json({ label: `m${i % 2}`, value: i, timestamp: 1_700_000_000_000 + i }))).status).toBe(202);
    }
  }
}

/** Everything both daemons must agree on: events with positions and versions, and the committers' counts. */
async function state(d: TestDaemon): Promise<unknown> {
  const { streams, metrics } = d.server.context.stores;
  const counts = (s: typeof streams | typeof metrics): unknown => s.stats.partitions.map((p) => ({
    appended: p.appended, committed: p.committed, discarded: p.discarded, rejected: p.rejected, duplicates: p.duplicates,
    conflicts: p.conflicts, purged: p.purged, live: p.live, keys: p.keys, dormantKeys: p.dormantKeys, dedupIds: p.dedupIds,
  }));
  return {
    streams: await streams.snapshot(),
    streamCounts: counts(streams),
    // Metric ids are drawn by each daemon's committer: everything else must match.
    metrics: (await metrics.snapshot()).map(({ id: _id, ...e }) => e),
    metricCounts: counts(metrics),
  };
}

async function agree(x: TestDaemon, y: TestDaemon, what: string): Promise<void> {
  let last: [string, string] = ['', ''];
  try {
    await eventually(async () => {
      last = [JSON.stringify(await state(x)), JSON.stringify(await state(y))];
      return last[0] === last[1];
    }, what, 5_000);
  } catch {
    expect(JSON.parse(last[1]), what).toEqual(JSON.parse(last[0]));
  }
}

/**
 * A late daemon after retention dropped exactly `dropped` messages: A writes checkpoints while the first
 * `dropped + EVERY` messages are posted on B, then stops; B posts the rest (CAPACITY + dropped in all);
 * C starts, loads A's newest checkpoint (at or after `dropped`, before the log's end) and applies the log
 * after it. C must equal B, and go on deciding conflicts and duplicates as B does.
 */
async function lateDaemonAfter(dropped: number): Promise<void> {
  nats = await startSingleServer();
  const a = await daemon(EVERY);
  const b = await daemon(0);
  const w = new Workload();
  const first = dropped + EVERY;
  await w.post(b, first);
  await eventually(async () => (await checkpointSeq()) > dropped, `a checkpoint after message ${dropped}`);
  await a.close();
  const covered = await checkpointSeq();
  expect(covered).toBeGreaterThan(dropped);
  expect(covered).toBeLessThanOrEqual(first);
  // However many were written, two checkpoints per ring store are kept (one writer here: no lost race's chunks).
  const subjects = await checkpointSubjects();
  expect(subjects['ringstore.ring-ckpt.streams.m']).toBeLessThanOrEqual(2);
  expect(subjects['ringstore.ring-ckpt.streams.claim']).toBe(1);
  expect(Object.keys(subjects).filter((x) => x.startsWith('ringstore.ring-ckpt.streams.d.')).length).toBeLessThanOrEqual(2);
  await w.post(b, CAPACITY + dropped - first);
  expect(await logState()).toEqual({ first: dropped + 1, last: CAPACITY + dropped, messages: CAPACITY });

  const c = await daemon(0);
  await agree(b, c, 'the late daemon holds what the early one does');

  // Expected versions: the right one (as B knows it) is accepted on C, a stale one is a 409 with B's version.
  for (let s = 0; s < STREAMS; s++) {
    const stream = `s${s}`;
    const v = w.versions.get(stream)!;
    const ok = await raw(`${c.url}/streams/${stream}`, json({ valor: 1 }, { 'expected-version': String(v) }));
    expect(ok.status, `${stream} at version ${v}`).toBe(202);
    expect(ok.body).toMatchObject({ version: v + 1 });
    const stale = await raw(`${c.url}/streams/${stream}`, json({ valor: 2 }, { 'expected-version': String(v) }));
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'RS_ERR_CONFLICT', expected: v, actual: v + 1 });
    w.versions.set(stream, v + 1);
  }
  // Idempotency keys, those whose first message retention dropped included: duplicates with the first answer.
  expect(w.keyed.size).toBeGreaterThan(0);
  for (const [key, { stream, body }] of w.keyed) {
    const again = await raw(`${c.url}/streams/${stream}`, json({ valor: 3 }, { 'idempotency-key': key }));
    expect(again.status).toBe(202);
    expect(again.body, key).toEqual({ ...(body as object), duplicate: true });
  }
  await agree(b, c, 'both applied the late daemon\'s writes alike');
  // And a write on B is applied by C like by B.
  await w.post(b, 3);
  await agree(b, c, 'the late daemon follows');
}

describe('shared checkpoints of the ring stores (--nats)', () => {
  it('retention dropped no message: the late daemon equals the early one', async () => {
    await lateDaemonAfter(0);
  }, 60_000);

  it('retention dropped 1 message', async () => {
    await lateDaemonAfter(1);
  }, 60_000);

  it('retention dropped capacity - 1 messages', async () => {
    await lateDaemonAfter(CAPACITY - 1);
  }, 60_000);

  it('retention dropped capacity messages', async () => {
    await lateDaemonAfter(CAPACITY);
  }, 60_000);

  it('retention dropped capacity + 1 messages', async () => {
    await lateDaemonAfter(CAPACITY + 1);
  }, 60_000);

  it('no checkpoint and dropped messages: the late daemon refuses to start (RS_ERR_REPLICATION_GAP)', async () => {
    nats = await startSingleServer();
    const b = await daemon(0);
    await new Workload().post(b, CAPACITY + 1);
    expect(await checkpointSeq()).toBe(0);
    await expect(daemon(0)).rejects.toMatchObject({ code: 'RS_ERR_REPLICATION_GAP', details: { firstRetainedSeq: 2, checkpointSeq: null } });
  }, 60_000);

  it('a checkpoint older than what the log keeps: the late daemon refuses to start (RS_ERR_REPLICATION_GAP)', async () => {
    nats = await startSingleServer();
    const a = await daemon(EVERY);
    const b = await daemon(0);
    const w = new Workload();
    await w.post(b, EVERY);
    await eventually(async () => (await checkpointSeq()) === EVERY, 'a checkpoint');
    await a.close();
    // The log now starts right after the checkpoint: still usable.
    await w.post(b, CAPACITY);
    expect((await logState()).first).toBe(EVERY + 1);
    const c = await daemon(0);
    await agree(b, c, 'a checkpoint right before the first retained message is enough');
    await c.close();
    // One message more and it is not.
    await w.post(b, 1);
    await expect(daemon(0)).rejects.toMatchObject({ code: 'RS_ERR_REPLICATION_GAP', details: { firstRetainedSeq: EVERY + 2, checkpointSeq: EVERY } });
  }, 60_000);

  it('daemons whose requested sizings round to other geometries are refused on one log (--capacity 32 and 30, 4 partitions)', async () => {
    nats = await startSingleServer();
    // Both hold 8 events per partition, but the arena is derived from the requested capacity.
    const a = await startDaemon({ nats: [nats.url], partitions: 4, capacity: 32 });
    daemons.push(a);
    expect(a.server.context.stores.streams.capacity).toBe(32);
    const other = startDaemon({ nats: [nats.url], partitions: 4, capacity: 30 });
    await expect(other).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
    await expect(other).rejects.toThrow(/arenaBytes/);
    // The same flags again are accepted.
    daemons.push(await startDaemon({ nats: [nats.url], partitions: 4, capacity: 32 }));
  }, 60_000);

  it('a publish stored twice (same Nats-Msg-Id past the server\'s duplicate window) is applied once, by a daemon started from a checkpoint too', async () => {
    nats = await startSingleServer();
    const a = await daemon(EVERY);
    const b = await daemon(0);
    const metric = (i: number): Promise<{ status: number }> => raw(`${b.url}/metrics`, json({ label: `m${i}`, value: i, timestamp: 1_700_000_000_000 + i }));
    expect((await metric(1)).status).toBe(202);
    // More messages, until a checkpoint of the metrics log covers the first one.
    const metricsCheckpoint = (): Promise<number> => withJsm(async (jsm) => {
      const m = await jsm.streams.getMessage('RINGSTORE_RING_CHECKPOINTS', { last_by_subj: 'ringstore.ring-ckpt.metrics.m' }).catch(() => null);
      return m === null ? 0 : (m.json<{ seq: number }>()).seq;
    });
    for (let i = 2; i <= EVERY + 1; i++) expect((await metric(i)).status).toBe(202);
    await eventually(async () => (await metricsCheckpoint()) >= 1, 'a metrics checkpoint');
    await a.close();
    // The first message again, under its id, once the server no longer deduplicates it (its window shortened).
    const nc = await connect({ servers: [nats.url] });
    let dupSeq = 0;
    try {
      const jsm = await jetstreamManager(nc);
      const first = await jsm.streams.getMessage('RINGSTORE_RING_METRICS', { seq: 1 });
      const msgID = first.header.get('Nats-Msg-Id');
      expect(msgID).not.toBe('');
      const info = await jsm.streams.info('RINGSTORE_RING_METRICS');
      await jsm.streams.update('RINGSTORE_RING_METRICS', { ...info.config, duplicate_window: nanos(100) });
      const js = jetstream(nc);
      await eventually(async () => {
        const ack = await js.publish('ringstore.ring.metrics', first.data, { msgID });
        dupSeq = ack.duplicate ? 0 : ack.seq;
        return dupSeq > 0;
      }, 'the duplicate stored');
    } finally {
      await nc.close();
    }
    expect(dupSeq).toBe(EVERY + 2);
    // Applied in log order: once this one is answered, B went past the duplicate.
    expect((await metric(100)).status).toBe(202);
    const m1 = (await b.server.context.stores.metrics.snapshot()).filter((e) => e.key === 'm1');
    expect(m1).toHaveLength(1);
    expect(b.server.context.stores.metrics.stats.appended).toBe(EVERY + 2);
    // A daemon starting from the checkpoint (which covers the first message) skips it alike.
    const c = await daemon(0);
    await agree(b, c, 'the late daemon skipped the duplicate too');
  }, 60_000);

  it('a newest manifest this version cannot read (a future format) is followed, not blocked on: checkpoints are stored after it', async () => {
    nats = await startSingleServer();
    // The checkpoint stream exists once a daemon started; then a manifest of another format is the newest.
    const b = await daemon(0);
    await withJsm(async (jsm) => {
      const nc = await connect({ servers: [nats!.url] });
      try {
        await jetstream(nc).publish('ringstore.ring-ckpt.streams.m', JSON.stringify({ format: 99, store: 'streams' }));
      } finally {
        await nc.close();
      }
      expect((await jsm.streams.getMessage('RINGSTORE_RING_CHECKPOINTS', { last_by_subj: 'ringstore.ring-ckpt.streams.m' })).json()).toMatchObject({ format: 99 });
    });
    const a = await daemon(EVERY);
    const w = new Workload();
    await w.post(b, EVERY);
    await eventually(async () => (await checkpointSeq().catch(() => 0)) >= EVERY, 'a checkpoint stored after the unreadable manifest');
    await a.close();
    // A late daemon loads it.
    await w.post(b, CAPACITY);
    const c = await daemon(0);
    await agree(b, c, 'the late daemon loaded the checkpoint stored after the unreadable manifest');
  }, 60_000);

  it('a running daemon that falls behind by more than the log keeps answers /ready 503 RS_ERR_REPLICATION_GAP', async () => {
    nats = await startSingleServer();
    const b = await daemon(0);
    const w = new Workload();
    await w.post(b, 2);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    /** Names of the log's consumers (B's now; the child's are the others). */
    const consumers = (): Promise<{ name: string; waiting: number }[]> => withJsm(async (jsm) => (await jsm.consumers.list('RINGSTORE_RING_STREAMS').next()).map((c) => ({ name: c.name, waiting: c.num_waiting })));
    const ofB = new Set((await consumers()).map((c) => c.name));
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', String(port), '--partitions', '2', '--capacity', String(CAPACITY), '--nats', nats.url, '--nats-checkpoint-every', '0', '--log-level', 'error'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    for (const out of [child.stdout!, child.stderr!]) out.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await eventually(async () => (await raw(`${url}/ready`).catch(() => ({ status: 0 }))).status === 200, `the child is ready (${err})`);
      // Frozen, it applies nothing while the log moves on by more than it keeps.
      child.kill('SIGSTOP');
      // Its consumer's pull request (expires 2 s) lapses on the server first: nothing is pushed to its socket meanwhile.
      await eventually(async () => {
        const its = (await consumers()).filter((c) => !ofB.has(c.name));
        return its.length > 0 && its.every((c) => c.waiting === 0);
      }, 'the frozen child\'s pull request lapsed');
      await w.post(b, CAPACITY + 2);
      child.kill('SIGCONT');
      await eventually(async () => (await raw(`${url}/ready`)).status === 503, 'the child notices the gap');
      const r = await raw(`${url}/ready`);
      expect(r.body.error).toMatchObject({ code: 'RS_ERR_REPLICATION_GAP', stream: 'RINGSTORE_RING_STREAMS', expected: 3 });
      expect(err).toMatch(/fell behind its log/);
      // It takes no more writes: refused at once, nothing published (the other daemons would apply what it never answers).
      const before = await logState();
      for (const [path, body] of [['/streams/s1', { valor: 1 }], ['/metrics', { label: 'm', value: 1, timestamp: 1_700_000_000_000 }]] as const) {
        const refused = await raw(`${url}${path}`, json(body));
        expect(refused.status, path).toBe(503);
        expect(refused.body.error).toMatchObject({ code: 'RS_ERR_REPLICATION_GAP', stream: 'RINGSTORE_RING_STREAMS' });
      }
      expect(await logState()).toEqual(before);
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);
});
