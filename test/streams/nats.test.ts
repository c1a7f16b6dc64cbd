// What only the NATS backend does: its options and stream checks, catching up
// with other processes, batches split into parts, lost acknowledgements,
// idempotency past the duplicate window, foreign messages, shard eviction.
// (The shared suites run on it too; cluster faults are in test/nats/cluster.test.ts.)
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { NatsBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';
import type { NatsBackendOptions } from '../../dist/src/streams/index.js';
import { decodeMessage } from '../../dist/src/streams/backends/nats-log.js';
import { freePort, sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';
import { code, evs, rejection } from './helpers.js';

let url = '';
let nc: NatsConnection;
let jsm: JetStreamManager;
let names = 0;
const open: NatsBackend[] = [];

beforeAll(async () => {
  url = (await sharedNatsServer()).url;
  nc = await connect({ servers: url });
  jsm = await jetstreamManager(nc);
});
afterEach(async () => {
  for (const b of open.splice(0)) await b.close().catch(() => undefined);
});
afterAll(async () => {
  await nc?.close();
  await stopSharedNatsServer();
});

/** A fresh stream name and prefix. */
function fresh(): { stream: string; subjectPrefix: string } {
  const n = `N${++names}`;
  return { stream: n, subjectPrefix: `rs.${n}` };
}

/** A backend on the shared server, closed after the test. */
function backend(options: Partial<NatsBackendOptions> = {}): NatsBackend {
  const b = new NatsBackend({ servers: url, ...options });
  open.push(b);
  return b;
}

/** A connection whose requests pass through `hook` (before sending, or after the reply) to inject faults. */
function intercepted(real: NatsConnection, hook: { before?: (subject: string, data: Uint8Array) => Promise<void>; after?: (subject: string, data: Uint8Array) => Promise<void> }): NatsConnection {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'request') {
        return async (subject: string, data: Uint8Array, opts: unknown) => {
          await hook.before?.(subject, data);
          const reply = await target.request(subject, data, opts as never);
          await hook.after?.(subject, data);
          return reply;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Number of messages stored on `subject`. */
async function messagesOn(stream: string, subject: string): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

describe('NatsBackend options and stream checks', () => {
  it('rejects bad options synchronously with RS_ERR_INVALID_OPTION', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { servers: [] },
      { servers: '' },
      { servers: url, stream: 'a.b' },
      { servers: url, subjectPrefix: 'a.>' },
      { servers: url, subjectPrefix: 'a..b' },
      { servers: url, replicas: 0 },
      { servers: url, replicas: 6 },
      { servers: url, storage: 'disk' },
      { servers: url, shardDepth: 0 },
      { servers: url, maxPartBytes: 10 },
      { servers: url, requestTimeoutMs: 1.5 },
      { servers: url, clock: { now: () => 1 } },
      { servers: url, logger: {} },
      { servers: url, create: 'yes' },
      { connection: {} },
    ];
    for (const o of bad) {
      let err: unknown;
      try {
        new NatsBackend(o as NatsBackendOptions);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string })?.code, JSON.stringify(o)).toBe('RS_ERR_INVALID_OPTION');
    }
  });

  it('a server that does not answer fails ready() and every operation (wrapped by the streams as RS_ERR_STORE_BACKEND)', async () => {
    const b = backend({ servers: `nats://127.0.0.1:${await freePort()}` });
    await expect(b.ready()).rejects.toThrow();
    const provider = new StreamStoreProvider({ backend: b });
    expect(await code(provider.open('Acc/1'))).toBe('RS_ERR_STORE_BACKEND');
  });

  it('creates the stream with no limits and deny delete/purge; durable with file storage', async () => {
    const f = fresh();
    const b = await NatsBackend.connect({ servers: url, ...f, duplicateWindowMs: 60_000, writeTimeoutMs: 10_000 });
    open.push(b);
    const { config } = await jsm.streams.info(f.stream);
    expect(config).toMatchObject({ subjects: [`${f.subjectPrefix}.>`], max_msgs: -1, max_bytes: -1, max_age: 0, deny_delete: true, deny_purge: true, num_replicas: 1, storage: 'file' });
    expect(config.duplicate_window).toBe(60_000 * 1e6);
    expect(b.capabilities).toEqual({ durable: true, multiProcess: true });
    const m = backend({ ...fresh(), storage: 'memory' });
    await m.ready();
    expect(m.capabilities.durable).toBe(false);
  });

  it('refuses an existing stream that could drop messages, one that does not capture the prefix, and a missing one with create: false', async () => {
    const limited = fresh();
    await jsm.streams.add({ name: limited.stream, subjects: [`${limited.subjectPrefix}.>`], max_age: 60e9 });
    expect(await code(NatsBackend.connect({ servers: url, ...limited }))).toBe('RS_ERR_INVALID_OPTION');
    const other = fresh();
    await jsm.streams.add({ name: other.stream, subjects: ['elsewhere.>'] });
    expect(await code(NatsBackend.connect({ servers: url, ...other }))).toBe('RS_ERR_INVALID_OPTION');
    expect(await code(NatsBackend.connect({ servers: url, ...fresh(), create: false }))).toBe('RS_ERR_INVALID_OPTION');
    // a retry deadline as long as the duplicate window could store a retried publish twice
    expect(await code(NatsBackend.connect({ servers: url, ...fresh(), duplicateWindowMs: 5_000, writeTimeoutMs: 5_000 }))).toBe('RS_ERR_INVALID_OPTION');
  });

  it('a batch must stay in one shard; values must be JSON', async () => {
    const b = backend(fresh());
    expect(await code(b.batch([{ op: 'set', key: 'db/A/1/h', value: 1 }, { op: 'set', key: 'db/A/2/h', value: 1 }]))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(b.set('db/A/1/h', { n: 1n }))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await b.list('db/A/1/')).toEqual([]);
    // keys deeper than the shard depth belong to the shard of their first three levels
    await b.batch([{ op: 'set', key: 'db/A/1/h', value: 1 }, { op: 'set', key: 'db/A/1/e/0001', value: 2 }]);
    expect((await b.get('db/A/1/e/0001')).value).toBe(2);
  });

  it('names shard subjects readably (escaped), or by hash when too long', async () => {
    const f = fresh();
    const b = backend(f);
    await b.set('EventStores/Acc/1/h', 1);
    await b.set('EventStores/Acc/a%20b_c/h', 2);
    await b.set(`EventStores/Acc/${'x'.repeat(300)}/h`, 3);
    const info = await jsm.streams.info(f.stream, { subjects_filter: '>' });
    const subjects = Object.keys(info.state.subjects ?? {}).sort();
    expect(subjects).toHaveLength(3);
    expect(subjects).toContain(`${f.subjectPrefix}.k.EventStores.Acc.1`);
    expect(subjects).toContain(`${f.subjectPrefix}.k.EventStores.Acc.a_2520b_5fc`);
    expect(subjects.filter((s) => /\.h\.[A-Za-z0-9_-]{43}$/.test(s))).toHaveLength(1);
  });
});

describe('NatsBackend across processes (several backends on one stream)', () => {
  it('a backend sees what another wrote, whether one, a few or many messages behind', async () => {
    const f = fresh();
    const a = backend(f);
    const b = backend(f);
    const key = (v: number) => `db/S/1/e/${String(v).padStart(4, '0')}`;
    let v = 0;
    for (const behind of [0, 1, 5, 40]) {
      for (let i = 0; i < behind; i++) await a.set(key(++v), v);
      const listed = await b.list<number>('db/S/1/e/');
      expect(listed.map((r) => r.value)).toEqual(Array.from({ length: v }, (_, i) => i + 1));
      // etags agree between processes
      for (const r of listed) expect(r.etag).toBe((await a.get(key(r.value))).etag);
    }
    // and a third backend replays the whole subject at once
    const c = backend(f);
    expect((await c.list('db/S/1/e/')).length).toBe(46);
  });

  it('compare-and-set holds across backends: a stale etag loses, whichever copy is stale', async () => {
    const f = fresh();
    const a = backend(f);
    const b = backend(f);
    const e1 = await a.set('db/L/1/l', 'a');
    expect((await b.get('db/L/1/l')).etag).toBe(e1);
    const e2 = await b.set('db/L/1/l', 'b', { etag: e1 });
    // a's copy still holds e1: its write is refused once it has caught up
    expect(await code(a.set('db/L/1/l', 'c', { etag: e1 }))).toBe('RS_ERR_KV_CONCURRENCY');
    expect(await code(a.add('db/L/1/l', 'd'))).toBe('RS_ERR_KV_DUPLICATE_KEY');
    expect(await a.set('db/L/1/l', 'e', { etag: e2 })).not.toBe(e2);
    // concurrent creates of one key from two backends: exactly one wins
    const results = await Promise.allSettled([a.add('db/L/1/x', 'a'), b.add('db/L/1/x', 'b')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('a stale session in another backend is fenced off: its append fails and writes nothing', async () => {
    const f = fresh();
    let now = 1_700_000_000_000;
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const pa = new StreamStoreProvider({ backend: backend({ ...f, clock }), clock });
    const pb = new StreamStoreProvider({ backend: backend({ ...f, clock }), clock });
    const a = await pa.open('Acc/1', { sessionTimeoutMs: 1_000 });
    await a.append(evs(1, 2));
    expect(await code(pb.open('Acc/1', { openTimeoutMs: 0 }))).toBe('RS_ERR_STORE_OPEN_FAILED');
    now += 1_000;
    const b = await pb.open('Acc/1', { openTimeoutMs: 0 });
    // a's clock is turned back: it believes its lease is live and writes, and the backend refuses
    now -= 500;
    const err = await rejection(a.append(evs(3, 5)));
    expect(err.code).toBe('RS_ERR_STORE_INVALID_SESSION');
    now += 500;
    expect(await b.version()).toBe(2);
    expect(await b.append(evs(3, 1))).toBe(3);
  });
});

describe('NatsBackend messages', () => {
  it('a batch larger than a message is stored as parts, invisible to readers until its last part', async () => {
    const f = fresh();
    const reader = backend(f);
    let partsSeen = 0;
    const seenBetween: number[] = [];
    const real = await connect({ servers: url });
    const writerConn = intercepted(real, {
      before: async (subject, data) => {
        if (!subject.startsWith(`${f.subjectPrefix}.`)) return;
        const { h } = decodeMessage(data);
        if (h !== undefined && h.k > 1 && h.i > 0) {
          partsSeen++;
          // between parts, another backend sees the stream as before the batch
          seenBetween.push((await reader.list('EventStores/Acc/1/e/')).length);
        }
      },
    });
    const writer = backend({ ...f, connection: writerConn, maxPartBytes: 2_048 });
    try {
      const provider = new StreamStoreProvider({ backend: writer });
      const s = await provider.open('Acc/1');
      await s.append(evs(1, 1));
      const big = Array.from({ length: 200 }, (_, i) => ({ type: 'Big', data: { i, pad: 'p'.repeat(100) } }));
      expect(await s.append(big)).toBe(201);
      expect(partsSeen).toBeGreaterThan(5);
      expect(new Set(seenBetween)).toEqual(new Set([1]));
      const other = new StreamStoreProvider({ backend: reader });
      await s.close();
      const t = await other.open('Acc/1', { openTimeoutMs: 0 });
      const { events } = await t.read();
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
      expect(events[200]!.data).toEqual({ i: 199, pad: 'p'.repeat(100) });
    } finally {
      await real.close();
    }
  });

  it('an append above the server max_payload (1 MiB) is stored atomically in parts', async () => {
    const f = fresh();
    const provider = new StreamStoreProvider({ backend: backend(f) });
    const s = await provider.open('Acc/big');
    const events = Array.from({ length: 30 }, (_, i) => ({ type: 'Blob', data: { i, blob: 'b'.repeat(100_000) } }));
    expect(await s.append(events)).toBe(30);
    await s.close();
    const again = new StreamStoreProvider({ backend: backend(f) });
    const t = await again.open('Acc/big');
    const read = (await t.read()).events;
    expect(read).toHaveLength(30);
    expect(read.every((e, i) => (e.data as { i: number; blob: string }).blob.length === 100_000 && (e.data as { i: number }).i === i)).toBe(true);
  });

  it('a writer that dies between parts leaves nothing: the next write discards its parts, in every replay', async () => {
    const f = fresh();
    const real = await connect({ servers: url });
    let died = false;
    const dying = intercepted(real, {
      before: async (subject, data) => {
        const { h } = decodeMessage(data);
        if (subject.startsWith(`${f.subjectPrefix}.`) && h !== undefined && h.i === 2) {
          died = true;
          throw new Error('process died');
        }
      },
    });
    try {
      const writer = backend({ ...f, connection: dying, maxPartBytes: 1_024 });
      await writer.set('db/P/1/small', 1);
      expect(await code(writer.set('db/P/1/big', 'x'.repeat(5_000)))).toBe('untyped: Error: process died');
      expect(died).toBe(true);
      expect(await messagesOn(f.stream, `${f.subjectPrefix}.k.db.P.1`)).toBe(3); // small + 2 abandoned parts
      const other = backend(f);
      expect(await other.tryGet('db/P/1/big')).toBeUndefined();
      await other.set('db/P/1/after', 2);
      for (const b of [other, backend(f), writer]) {
        expect((await b.list('db/P/1/')).map((r) => r.key)).toEqual(['db/P/1/after', 'db/P/1/small']);
      }
    } finally {
      await real.close();
    }
  });

  it('a lost acknowledgement is retried under the same message id: stored once, even with a write in between', async () => {
    const f = fresh();
    const other = backend(f);
    const real = await connect({ servers: url });
    let lost = 0;
    const lossy = intercepted(real, {
      after: async (subject) => {
        if (subject.startsWith(`${f.subjectPrefix}.`) && lost === 0) {
          lost++;
          await other.set('db/Q/1/between', 'b');
          throw new errors.TimeoutError();
        }
      },
    });
    try {
      const b = backend({ ...f, connection: lossy });
      const etag = await b.set('db/Q/1/k', 'v');
      expect(lost).toBe(1);
      expect(await messagesOn(f.stream, `${f.subjectPrefix}.k.db.Q.1`)).toBe(2);
      expect(await other.get('db/Q/1/k')).toEqual({ value: 'v', etag });
      expect((await b.get('db/Q/1/between')).value).toBe('b');
    } finally {
      await real.close();
    }
  });

  it('a publish that landed unbeknown, whose retry the server no longer deduplicates, is recognised as committed', async () => {
    // The cluster fault (test/nats/cluster.test.ts): the stream leader stored the append and was killed
    // before answering; the retry, same message id, reached a new leader that did not know the id and
    // refused it with 10071 (the subject had moved on: by this very append). Without recognising its
    // own batch in the log, the append failed with "expected version 1 but the stream is at 2".
    const f = fresh();
    const real = await connect({ servers: url });
    const stored = async (): Promise<number> => (await jsm.streams.info(f.stream)).state.messages;
    let armed = false;
    const seen: string[] = [];
    const forgetful = new Proxy(real, {
      get(target, prop) {
        if (prop === 'request') {
          return async (subj: string, data: Uint8Array, opts: { headers?: { get(k: string): string; set(k: string, v: string): void } }) => {
            if (!armed || !subj.startsWith(`${f.subjectPrefix}.`)) return target.request(subj, data, opts as never);
            if (seen.length === 0) {
              await target.request(subj, data, opts as never);
              seen.push('stored, answer lost');
              throw new errors.TimeoutError();
            }
            // The new leader has no record of the id.
            opts.headers!.set('Nats-Msg-Id', `${opts.headers!.get('Nats-Msg-Id')}.unknown`);
            armed = false;
            const reply = await target.request(subj, data, opts as never);
            seen.push(`retry: ${JSON.stringify((reply.json() as { error?: { err_code?: number } }).error?.err_code)}`);
            return reply;
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    try {
      const b = backend({ ...f, connection: forgetful });
      const provider = new StreamStoreProvider({ backend: b });
      const s = await provider.open('db/S/1');
      expect(await s.append([{ id: 'one', type: 'E', data: 1 }])).toBe(1);
      const before = await stored();
      armed = true;
      expect(await s.append([{ id: 'two', type: 'E', data: 2 }])).toBe(2);
      expect(seen).toEqual(['stored, answer lost', 'retry: 10071']);
      expect(await stored()).toBe(before + 1);
      // The session goes on from the right head, and another process reads the same.
      expect(await s.append([{ id: 'three', type: 'E', data: 3 }])).toBe(3);
      await s.close();
      const other = new StreamStoreProvider({ backend: backend(f) });
      const again = await other.open('db/S/1');
      expect((await again.read()).events.map((e) => [e.id, e.version])).toEqual([['one', 1], ['two', 2], ['three', 3]]);
      await again.close();
      await other.close();
      await provider.close();
    } finally {
      await real.close();
    }
  });

  it('idempotency ids hold past the duplicate window (the index is in the shard, not the window)', async () => {
    const f = fresh();
    const b1 = backend({ ...f, duplicateWindowMs: 500, writeTimeoutMs: 400 });
    const p1 = new StreamStoreProvider({ backend: b1 });
    const s1 = await p1.open('Acc/1');
    await s1.append([{ id: 'cmd-1', type: 'E', data: 1 }]);
    await s1.close();
    await new Promise((r) => setTimeout(r, 900));
    const p2 = new StreamStoreProvider({ backend: backend({ ...f, writeTimeoutMs: 400 }) });
    const s2 = await p2.open('Acc/1');
    const dup = await rejection<{ existingVersion: number }>(s2.append([{ id: 'cmd-1', type: 'E', data: 1 }]));
    expect([dup.code, dup.existingVersion]).toEqual(['RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID', 1]);
    expect(await s2.version()).toBe(1);
  });

  it('a foreign message on a shard subject is skipped by every replay and does not block writes', async () => {
    const f = fresh();
    const b = backend(f);
    await b.set('db/F/1/a', 1);
    const js = jetstream(nc);
    await js.publish(`${f.subjectPrefix}.k.db.F.1`, 'not a ringstore message');
    await js.publish(`${f.subjectPrefix}.k.db.F.1`, '{"s":"db/F/1","n":2,"b":"x","a":0,"i":0,"k":1}\n[["db/F/1/forged",1]]');
    await b.set('db/F/1/b', 2);
    for (const r of [b, backend(f)]) expect((await r.list('db/F/1/')).map((x) => x.key)).toEqual(['db/F/1/a', 'db/F/1/b']);
  });

  it('shards dropped from the cache are replayed when used again', async () => {
    const f = fresh();
    const b = backend({ ...f, maxCachedShards: 1 });
    const w = backend(f);
    for (let i = 1; i <= 3; i++) {
      await b.set(`db/E/${i}/k`, i);
      await w.set(`db/E/${i}/w`, -i);
    }
    for (let i = 1; i <= 3; i++) expect((await b.list(`db/E/${i}/`)).map((r) => r.value)).toEqual([i, -i]);
  });
});
