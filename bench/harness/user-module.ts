/**
 * A user's own scenario, loaded with `--module ./my-scenario.js`. The module's
 * default export (or its `scenario` export) is either a full {@link Scenario}
 * (it has a `cases` function), or a short form:
 *
 * ```js
 * export default {
 *   name: 'orders',                       // scenario name in the report
 *   events: (n, seed) => [...],           // the events generator: n events (an array or an iterable)
 *   store: { key: 'account', values: { amount: 'amount' } },   // EventStore options (optional)
 *   workload: async (store, events) => events.length,          // optional: returns operations done
 * };
 * ```
 *
 * The short form gets the same report as the built-in scenarios: the ringstore
 * case runs the workload (default: tryAppend every event, retrying, then
 * flush), beside the JSON-encode and array-push floors, the plain-array ring,
 * Emmett's in-memory store and Redis Streams, over the same events.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventStore, type EventStoreOptions } from '../../src/index.js';
import { appendLoop } from './events.js';
import { arrayPushFloor, emmettPeer, jsonEncodeFloor, now, plainRingPeer, redisPeer } from './peers.js';
import { sharedBytesOf } from './scenarios/common.js';
import type { Case, Scenario } from './types.js';

/** The short form of a user scenario. */
export interface UserScenario<T = unknown> {
  name: string;
  title?: string;
  description?: string;
  events(n: number, seed: number): Iterable<T> | T[];
  store?: EventStoreOptions<T>;
  workload?(store: EventStore<T>, events: readonly T[]): Promise<number> | number;
  /** Stream (Emmett) / key (Redis) of an event; default the store's `key` path when it is a string, else 'events'. */
  streamOf?(event: T): string;
}

const ENCODE = 'floor: JSON.stringify + encodeInto loop';

function isFull(x: unknown): x is Scenario {
  return typeof x === 'object' && x !== null && typeof (x as Scenario).cases === 'function' && typeof (x as Scenario).name === 'string';
}

function isShort(x: unknown): x is UserScenario {
  return typeof x === 'object' && x !== null && typeof (x as UserScenario).name === 'string' && typeof (x as UserScenario).events === 'function';
}

/** Turns the short form into a scenario. */
export function fromUserScenario(u: UserScenario): Scenario {
  return {
    name: u.name,
    title: u.title ?? `User scenario ${u.name}`,
    description: u.description ?? 'A user module: its events generator and workload on ringstore, beside the floors and peers over the same events.',
    reference: ENCODE,
    default: false,
    params: {
      events: { default: 100_000, help: 'events generated (and appended) per round' },
      partitions: { default: 2, help: 'partitions of the store (unless the module sets them)' },
    },
    async cases(ctx) {
      const n = Number(ctx.params.events);
      const events = [...u.events(n, 1)];
      if (events.length === 0) throw new Error(`${u.name}: events(${n}) produced no events`);
      let size = 1;
      while (size * 2 <= events.length) size *= 2;
      const pool = events.slice(0, size);
      const keyPath = typeof u.store?.key === 'string' ? u.store.key : undefined;
      const streamOf = u.streamOf ?? ((e: unknown) => (keyPath !== undefined ? String((e as Record<string, unknown>)[keyPath] ?? 'events') : 'events'));
      const capacity = u.store?.capacity ?? 1 << 18;
      let store: EventStore<unknown>;
      const subject: Case = {
        name: `ringstore: ${u.name} workload`,
        role: 'subject',
        setup: () => void (store = EventStore.create<unknown>({ partitions: Number(ctx.params.partitions), capacity, ...u.store } as EventStoreOptions<unknown>)),
        async run() {
          const t = now();
          let ops: number;
          if (u.workload !== undefined) {
            ops = await u.workload(store, events);
          } else {
            await appendLoop(store, pool, n, 0);
            ops = n;
          }
          await store.flush();
          return { ops, ms: now() - t, sharedBytes: sharedBytesOf(store) };
        },
        teardown: () => store.close(),
      };
      if (ctx.subjectsOnly) return [subject];
      return [
        subject,
        jsonEncodeFloor(pool, n, ENCODE),
        arrayPushFloor(pool, n),
        plainRingPeer(pool, n, capacity),
        await emmettPeer(pool, Math.min(n, 20_000), streamOf),
        await redisPeer(ctx, pool, n, capacity, streamOf),
      ];
    },
  };
}

/** Imports a user module (path relative to the working directory) and returns its scenario. */
export async function loadUserScenario(file: string, cwd: string = process.cwd()): Promise<Scenario> {
  const url = pathToFileURL(path.resolve(cwd, file)).href;
  const mod = (await import(url)) as { default?: unknown; scenario?: unknown };
  const x = mod.default ?? mod.scenario;
  if (isFull(x)) return { ...x, default: false };
  if (isShort(x)) return fromUserScenario(x);
  throw new Error(`${file}: export a scenario as default (or as "scenario"): { name, events(n, seed), store?, workload? } or a full scenario with cases()`);
}
