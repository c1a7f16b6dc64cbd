/**
 * Peers and floors, measured in the same run as the ringstore cases so that
 * every figure is a ratio: bare loops (array push, JSON encode, JSON decode),
 * a plain-array ring that drops its oldest entry, Emmett's in-memory event
 * store, and Redis Streams (XADD with MAXLEN, pipelined) when available.
 * Emmett and ioredis are loaded on first use (see optional.ts).
 */
import { importOptional } from './optional.js';
import type { Case, ScenarioContext } from './types.js';

export { yieldLoop } from './events.js';

/** Keeps loop results alive so no loop is dead code. */
export let sink = 0;
export function keep(x: number): void {
  sink += x;
}

export function now(): number {
  return performance.now();
}

/** `JSON.stringify` + `TextEncoder.encodeInto` into a fixed 1 MiB buffer: the cost of encoding, nothing kept. */
export function jsonEncodeFloor<T>(pool: readonly T[], n: number, name = 'floor: JSON.stringify + encodeInto loop'): Case {
  const enc = new TextEncoder();
  const buf = new Uint8Array(1 << 20);
  return {
    name,
    role: 'floor',
    run() {
      const t = now();
      let off = 0;
      for (let i = 0; i < n; i++) {
        const s = JSON.stringify(pool[i % pool.length]);
        if (off + s.length * 3 > buf.length) off = 0;
        off += enc.encodeInto(s, buf.subarray(off)).written;
      }
      keep(off);
      return { ops: n, ms: now() - t };
    },
  };
}

/** Pushing the event objects into a fresh JS array: the cheapest possible "store" (unbounded, nothing encoded). */
export function arrayPushFloor<T>(pool: readonly T[], n: number, name = 'floor: array.push(event)'): Case {
  return {
    name,
    role: 'floor',
    run() {
      const t = now();
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(pool[i % pool.length]);
      keep(out.length);
      return { ops: n, ms: now() - t };
    },
  };
}

/** `TextDecoder.decode` + `JSON.parse` of the encoded events into a new array. */
export function jsonDecodeFloor<T>(pool: readonly T[], n: number, name = 'floor: TextDecoder + JSON.parse loop'): Case {
  const enc = new TextEncoder();
  const encoded = pool.map((e) => enc.encode(JSON.stringify(e)));
  const dec = new TextDecoder();
  return {
    name,
    role: 'floor',
    op: 'events',
    run() {
      const t = now();
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = JSON.parse(dec.decode(encoded[i % encoded.length]));
      keep(out.length);
      return { ops: n, ms: now() - t };
    },
  };
}

/** A fixed-capacity ring over a plain JS array: writes overwrite the oldest slot. */
export class PlainRing<T> {
  readonly slots: (T | undefined)[];
  head = 0;
  size = 0;
  constructor(readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
  }
  push(e: T): void {
    this.slots[this.head] = e;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    if (this.size < this.capacity) this.size++;
  }
  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = new Array(this.size);
    const start = (this.head - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) out[i] = this.slots[(start + i) % this.capacity] as T;
    return out;
  }
}

/** Plain-array drop-oldest ring holding object references (no encoding, one thread). */
export function plainRingPeer<T>(pool: readonly T[], n: number, capacity: number, name = 'peer: plain-array ring, drop-oldest'): Case {
  const ring = new PlainRing<T>(capacity);
  return {
    name,
    role: 'peer',
    run() {
      const t = now();
      for (let i = 0; i < n; i++) ring.push(pool[i % pool.length]);
      keep(ring.size);
      return { ops: n, ms: now() - t };
    },
  };
}

/** The part of Emmett's in-memory event store the peers use. */
export interface EmmettStore {
  appendToStream(stream: string, events: { type: string; data: Record<string, unknown> }[]): Promise<unknown>;
  readStream(stream: string): Promise<{ events: unknown[] }>;
}

/** Emmett's `getInMemoryEventStore`, or why it cannot be loaded (a dev dependency, not installed with ringstore). */
export async function loadEmmett(): Promise<(() => EmmettStore) | string> {
  const m = await importOptional<{ getInMemoryEventStore: () => EmmettStore }>('@event-driven-io/emmett');
  return typeof m === 'string' ? m : m.getInMemoryEventStore;
}

/** Emmett's in-memory event store: `appendToStream(stream, [event])`, awaited, a fresh store each round. */
export async function emmettPeer<T>(pool: readonly T[], n: number, streamOf: (e: T) => string, name = "peer: Emmett in-memory appendToStream"): Promise<Case> {
  const getInMemoryEventStore = await loadEmmett();
  if (typeof getInMemoryEventStore === 'string') return { name, role: 'peer', skip: getInMemoryEventStore, run: () => ({ ops: 0, ms: 0 }) };
  return {
    name,
    role: 'peer',
    async run() {
      const es = getInMemoryEventStore();
      const t = now();
      for (let i = 0; i < n; i++) {
        const e = pool[i % pool.length];
        await es.appendToStream(streamOf(e), [{ type: 'Event', data: e as Record<string, unknown> }]);
      }
      return { ops: n, ms: now() - t };
    },
  };
}

/** Redis Streams: `XADD key MAXLEN ~ capacity * d <json>`, pipelined in batches of 1000. Skipped without redis-server. */
export async function redisPeer<T>(
  ctx: ScenarioContext, pool: readonly T[], n: number, capacity: number, streamOf: (e: T) => string = () => 'bench',
  name = 'peer: Redis Streams XADD (ioredis, pipelined)',
): Promise<Case> {
  const redis = await ctx.redis();
  if (typeof redis === 'string') return { name, role: 'peer', skip: redis, run: () => ({ ops: 0, ms: 0 }) };
  const client = redis.client;
  return {
    name: `${name}, redis ${redis.version}`,
    role: 'peer',
    async setup() {
      await client.flushall();
    },
    async run() {
      const t = now();
      for (let i = 0; i < n; i += 1000) {
        const p = client.pipeline();
        for (let j = i; j < Math.min(n, i + 1000); j++) {
          const e = pool[j % pool.length];
          p.xadd(`rs:${streamOf(e)}`, 'MAXLEN', '~', String(capacity), '*', 'd', JSON.stringify(e));
        }
        await p.exec();
      }
      return { ops: n, ms: now() - t };
    },
    async teardown() {
      await client.flushall();
    },
  };
}
