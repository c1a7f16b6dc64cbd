// Time-to-live over a week, on an injected clock (ManualClock): records written with a TTL in the in-memory
// streams backend, and session leases that expire and are taken over, day after day. Memory must follow what
// is alive, not every key or minute ever written. docs/testing.md, "Long uptime".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { ShardState } from '../../dist/src/streams/backends/nats-shard.js';
import { LmdbBackend, ManualClock, MemoryBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 5);

describe('MemoryBackend: a week of writes with a TTL', () => {
  it('holds only what is alive: one record a minute under keys named by the minute, folders named by the day', async () => {
    const clock = new ManualClock(T0);
    const kv = new MemoryBackend({ clock });
    try {
      let sets = 0;
      for (let minute = 0; minute < 7 * 24 * 60; minute++) {
        const day = Math.floor(minute / (24 * 60));
        await kv.set(`cache/m${minute}`, { minute }, { ttlMs: HOUR });
        await kv.add(`daily/d${day}/m${minute}`, minute, { ttlMs: 10 * MIN });
        await kv.set('cursor/last', minute); // no TTL: kept
        sets += 3;
        clock.advance(MIN);
        if ((minute + 1) % (24 * 60) !== 0) continue;
        // Alive now: the last hour of cache/, the last 10 minutes of daily/ (the clock is one minute past the last write).
        const cache = await kv.list('cache/');
        expect(cache.map((r) => r.key)).toEqual(Array.from({ length: 59 }, (_, j) => `cache/m${minute - 58 + j}`).sort());
        const s = kv.stats();
        // Before the fix: every record of the day so far (2 * 1,440 a day, growing by the day).
        expect(s.keys, `day ${day}: ${JSON.stringify(s)}`).toBeLessThanOrEqual(60 + 10 + 1);
        expect(s.folders).toBeLessThanOrEqual(3 + 1); // cache/, cursor/, today's daily/ (and yesterday's for 10 minutes)
      }
      expect(sets).toBe(3 * 7 * 24 * 60);
      expect((await kv.get('cursor/last')).value).toBe(7 * 24 * 60 - 1);
    } finally {
      await kv.close();
    }
  });

  it('a record written again, or removed, before its TTL keeps its new life', async () => {
    const clock = new ManualClock(T0);
    const kv = new MemoryBackend({ clock });
    try {
      await kv.set('a/x', 1, { ttlMs: 10 * MIN });
      await kv.set('a/y', 1, { ttlMs: 10 * MIN });
      clock.advance(5 * MIN);
      await kv.set('a/x', 2); // no TTL now
      await kv.remove('a/y');
      await kv.set('a/y', 3, { ttlMs: HOUR });
      clock.advance(6 * MIN); // the first TTLs ran out
      await kv.set('b/z', 0); // a write: drops what expired
      expect((await kv.get('a/x')).value).toBe(2);
      expect((await kv.get('a/y')).value).toBe(3);
      clock.advance(HOUR);
      await kv.batch([{ op: 'set', key: 'b/z', value: 1 }]);
      expect(await kv.tryGet('a/y')).toBeUndefined();
      expect(kv.stats()).toEqual({ streams: 0, folders: 2, keys: 2 });
    } finally {
      await kv.close();
    }
  });
});

/** What a closed LmdbBackend left on disk: records and expiry index entries; then removes the folder. */
async function onDisk(dir: string): Promise<{ records: number; expiries: number }> {
  const env = open({ path: dir, readOnly: true });
  try {
    // Read-only, a sub-database never made opens as undefined.
    return { records: env.openDB({ name: 'ringstore-streams' }).getCount(), expiries: env.openDB({ name: 'ringstore-streams.expiries' })?.getCount() ?? 0 };
  } finally {
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('LmdbBackend: a week of writes with a TTL', () => {
  it('removes expired records from disk at the next writes: one record a minute under keys named by the minute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-ttl-'));
    const clock = new ManualClock(T0);
    const kv = new LmdbBackend({ path: dir, clock, noSync: true });
    try {
      for (let minute = 0; minute < 7 * 24 * 60; minute++) {
        await kv.set(`cache/m${minute}`, { minute }, { ttlMs: HOUR });
        if (minute % 60 === 0) await kv.set('cursor/hour', minute / 60); // no TTL: kept
        clock.advance(MIN);
      }
      // A write refused by its precondition still leaves the expiries it found done (their own transaction).
      clock.advance(2 * HOUR);
      await expect(kv.set('cursor/hour', 0, { etag: 'stale' })).rejects.toThrow();
      expect(await kv.list('cache/')).toEqual([]);
      expect((await kv.get('cursor/hour')).value).toBe(7 * 24 - 1);
    } finally {
      await kv.close();
    }
    // Before the fix: all 10,080 cache records.
    expect(await onDisk(dir)).toEqual({ records: 1, expiries: 0 }); // cursor/hour
  }, 60_000);
});

describe('LmdbBackend: expired records another process wrote', () => {
  // A backend remembers the earliest expiry it knows of, so that a write need not read the index (4% of an
  // append's CPU); records another process (here another backend on the same files) wrote with a TTL must
  // still be removed by this one's writes, once its memory is a second old.
  it('are removed by this process\'s writes within a second of their expiry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-ttl2-'));
    const clock = new ManualClock(T0);
    const writer = new LmdbBackend({ path: dir, clock, noSync: true });
    const other = new LmdbBackend({ path: dir, clock, noSync: true });
    try {
      await other.set('cursor/n', 0); // reads the index now: empty
      for (let i = 0; i < 50; i++) await writer.set(`cache/k${i}`, i, { ttlMs: 10 });
      await writer.close();
      clock.advance(20); // all expired; `other` read the index 20 ms ago and found nothing
      await other.set('cursor/n', 1);
      clock.advance(1_000);
      await other.set('cursor/n', 2); // a second on: reads the index again, finds them due, removes them
      await other.set('cursor/n', 3);
      expect(await other.list('cache/')).toEqual([]);
    } finally {
      await writer.close();
      await other.close();
    }
    expect(await onDisk(dir)).toEqual({ records: 1, expiries: 0 }); // cursor/n
  });
});

describe('NatsBackend: a week of TTL writes through one process\'s copy of a shard', () => {
  it('holds only what is alive: one write a minute under keys named by the minute, each planned and applied', () => {
    // What NatsBackend does per write, without a server: plan the batch at the clock's time, then apply the
    // message the stream hands back (every process applies the same messages to its own copy).
    const state = new ShardState('0', 'kv.0');
    let now = T0;
    for (let minute = 0; minute < 7 * 24 * 60; minute++) {
      const { writes } = state.plan([{ op: 'set', key: `cache/m${minute}`, value: minute, ttlMs: HOUR }], now, false);
      const seq = state.seq + 1;
      const header = { s: '0', n: seq, b: `b${minute}`, a: 0, i: 0, k: 1 };
      expect(state.apply(header, state.seq, Buffer.from(JSON.stringify(writes)), seq)).toBe('committed');
      now += MIN;
      if ((minute + 1) % (24 * 60) !== 0) continue;
      expect(state.list('cache/', undefined, now)).toHaveLength(59);
      // Before the fix: every record of the week so far (1,440 a day).
      expect(state.size, `day ${Math.floor(minute / (24 * 60))}`).toBeLessThanOrEqual(61);
    }
    // A record written again inside its TTL keeps its new life; the stale expiry entry does not drop it.
    const again = (key: string, ttlMs?: number): void => {
      const { writes } = state.plan([{ op: 'set', key, value: 'again', ...(ttlMs === undefined ? {} : { ttlMs }) }], now, false);
      const seq = state.seq + 1;
      state.apply({ s: '0', n: seq, b: `again${seq}`, a: 0, i: 0, k: 1 }, state.seq, Buffer.from(JSON.stringify(writes)), seq);
    };
    again(`cache/m${7 * 24 * 60 - 1}`);
    now += 2 * HOUR;
    state.prune(now);
    expect(state.size).toBe(1);
    expect(state.get(`cache/m${7 * 24 * 60 - 1}`, now)?.value).toBe('again');
  });
});

describe('stream sessions: a week of leases', () => {
  it('sessions left open expire and are taken over the next day; versions continue, backend bounded by streams', async () => {
    const clock = new ManualClock(T0);
    const backend = new MemoryBackend({ clock });
    const provider = new StreamStoreProvider({ backend, clock, defaults: { sessionTimeoutMs: 10 * MIN, openTimeoutMs: 0 } });
    const STREAMS = 12; // a stream per (hour of the day mod 3, j): each opened 8 times a day
    const versions = new Map<string, number>();
    let takeovers = 0;
    try {
      for (let hour = 0; hour < 7 * 24; hour++) {
        for (let j = 0; j < STREAMS / 3; j++) {
          const name = `Orders/s${hour % 3}-${j}`;
          const s = await provider.open(name);
          const v = versions.get(name) ?? 0;
          expect(await s.version()).toBe(v);
          await s.append([{ type: 'Tick', data: { hour } }], { expectedVersion: v });
          versions.set(name, v + 1);
          // Every 5th session is left open: its lease runs out (10 minutes) before the stream's next turn (3 hours).
          if ((hour * STREAMS + j) % 5 === 0) takeovers++;
          else await s.close();
        }
        clock.advance(HOUR);
        if ((hour + 1) % 24 !== 0) continue;
        const st = backend.stats();
        expect(st.streams).toBe(STREAMS);
        // A folder per stream at most (its lease and snapshot records), whatever the days or sessions.
        expect(st.folders).toBeLessThanOrEqual(STREAMS);
        expect(st.keys).toBeLessThanOrEqual(STREAMS);
      }
      expect(takeovers).toBeGreaterThan(20);
      for (const [name, v] of versions) {
        const s = await provider.open(name);
        const { events } = await s.read();
        expect(events.map((e) => e.version)).toEqual(Array.from({ length: v }, (_, i) => i + 1));
        await s.close();
      }
    } finally {
      await provider.close();
      await backend.close();
    }
  });
});
