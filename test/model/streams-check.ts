// Shared pieces of the streams model test (streams.model.test.ts): the real side, the
// comparison of outcomes (value, or error code and fields) and of events read back.
import { expect } from 'vitest';
import type { KeyValueBackend, ManualClock, StreamEvent, StreamSession, StreamStoreProvider } from '../../dist/src/streams/index.js';
import { E, type MEvent, type MSession, type StreamsModel } from './streams-model.js';

export const STREAMS = ['Acc/1', 'Other/Acc/1'];
export const SLOTS = 3;
export const START = 1_700_000_000_000;
export const POOL = ['a', 'b', 'c', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'ü/%'];
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export interface Real {
  clocks: ManualClock[];
  providers: StreamStoreProvider[];
  slots: (StreamSession | undefined)[];
  /** Closes the backend (durable kinds) and opens it again on the same storage; returns the backend to use. */
  reopenBackend(): Promise<KeyValueBackend>;
}

export type Settled<T> = { ok: T } | { code: string; err: Record<string, unknown> };
export type Want<T> = { ok: T } | { code: string; fields?: Record<string, unknown>; anyOf?: Record<string, unknown>[] };

export const settle = async <T>(p: Promise<T>): Promise<Settled<T>> => {
  try {
    return { ok: await p };
  } catch (err) {
    const e = err as Record<string, unknown>;
    return { code: typeof e.code === 'string' ? e.code : `untyped: ${String(err)}`, err: e };
  }
};

const pick = (o: Record<string, unknown>, keys: string[]): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, o[k]]));

/** Compares an error outcome, or says the call should have resolved; returns the value when both resolved. */
export function compare<T>(got: Settled<T>, want: Want<T>, what: string): got is { ok: T } {
  if (tally !== undefined) {
    const k = `${what.split('(')[0]} ${'code' in got ? got.code : 'ok'}`;
    tally.set(k, (tally.get(k) ?? 0) + 1);
  }
  if ('code' in want) {
    expect('code' in got ? got.code : `resolved ${JSON.stringify(got.ok)}`, what).toBe(want.code);
    const err = (got as { err: Record<string, unknown> }).err;
    if (want.fields !== undefined) expect(pick(err, Object.keys(want.fields)), what).toEqual(want.fields);
    if (want.anyOf !== undefined) expect(want.anyOf, what).toContainEqual(pick(err, Object.keys(want.anyOf[0]!)));
    return false;
  }
  expect('code' in got ? `${got.code}: ${String(got.err.message)}` : 'resolved', what).toBe('resolved');
  return true;
}

/** Checks events read back against the model's, learning the ids the store generated. */
export function sameEvents(got: readonly StreamEvent[], want: readonly MEvent[], what: string): void {
  expect(got.map((e) => e.version), what).toEqual(want.map((e) => e.version));
  got.forEach((g, i) => {
    const m = want[i]!;
    if (m.id === undefined) {
      expect(g.id, `${what}: generated id`).toMatch(ULID);
      m.id = g.id;
    }
    const metadata = { ...m.given, correlationId: (m.given?.correlationId as string | undefined) ?? m.id, createdAt: m.createdAt };
    expect({ id: g.id, type: g.type, data: g.data, metadata: g.metadata, version: g.version }, what).toEqual({ id: m.id, type: m.type, data: m.data, metadata, version: m.version });
  });
}

/** STREAMS_MODEL_STATS=1: outcomes per operation, printed after each backend's run (what the sequences reach). */
export const tally = process.env.STREAMS_MODEL_STATS !== undefined ? new Map<string, number>() : undefined;

export const iso = (ms: number): string => new Date(ms).toISOString();

/** The error every operation of `s` gets before doing anything, or undefined. */
export function gateOf(m: StreamsModel, s: MSession, argError?: string | false, write = false): string | undefined {
  if (s.closed) return E.notOpen;
  if (argError) return argError;
  const e = m.sessionError(s);
  if (e !== undefined) return e;
  // Believed live, but taken over on the other provider's clock: a write is refused (the lease fence).
  if (write && m.takenOver(s)) return E.invalid;
  return undefined;
}
