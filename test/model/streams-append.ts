// The append commands of the streams model test (streams.model.test.ts): one append, a
// retried one, and a burst of appends issued without waiting (writes of one session are
// serialised in call order: docs/streams.md, "Sessions").
import fc from 'fast-check';
import { expect } from 'vitest';
import type { NewEvent, StreamSession } from '../../dist/src/streams/index.js';
import { compare, gateOf, iso, POOL, settle, type Settled } from './streams-check.js';
import { SessionCmd } from './streams-commands.js';
import { E, type Json, type MSession, type StreamsModel } from './streams-model.js';

export interface EvSpec {
  readonly id: { kind: 'none' } | { kind: 'pool'; i: number } | { kind: 'known'; i: number };
  readonly n: number;
  readonly meta: 0 | 1 | 2;
  readonly ev: 'none' | 'right' | 'wrong' | 'zero';
}
export type Expected = { kind: 'none' } | { kind: 'right' } | { kind: 'stale'; k: number } | { kind: 'future'; k: number } | { kind: 'bad' };

/** The events of `specs` at head `head` (per-event expected versions relative to it). */
function buildEvents(m: StreamsModel, s: MSession, specs: readonly EvSpec[], head: number): NewEvent[] {
  const known = m.knownIds(s.stream);
  return specs.map((sp, i) => {
    const e: NewEvent = { type: `T${sp.n % 3}`, data: { n: sp.n } };
    if (sp.id.kind === 'pool') e.id = POOL[sp.id.i % POOL.length];
    else if (sp.id.kind === 'known' && known.length > 0) e.id = known[sp.id.i % known.length];
    if (sp.meta === 1) e.metadata = { userId: 'u1' };
    else if (sp.meta === 2) e.metadata = { correlationId: `c${i}`, extra: [1, 'x'] };
    if (sp.ev === 'right') e.expectedVersion = head + 1 + i;
    else if (sp.ev === 'wrong') e.expectedVersion = head + 2 + i;
    else if (sp.ev === 'zero') e.expectedVersion = 0;
    return e;
  });
}

function expectedAt(x: Expected, head: number): number | undefined {
  return x.kind === 'none' ? undefined : x.kind === 'right' ? head : x.kind === 'stale' ? Math.max(0, head - 1 - x.k) : x.kind === 'future' ? head + 1 + x.k : -1;
}

function specsText(specs: readonly EvSpec[], x: Expected): string {
  const ids = specs.map((s) => (s.id.kind === 'none' ? '-' : s.id.kind === 'pool' ? POOL[s.id.i % POOL.length] : `known#${s.id.i}`));
  const evs = specs.map((s) => (s.ev === 'none' ? '' : `@${s.ev}`));
  return `[${ids.map((id, i) => id + evs[i]).join(', ')}]${x.kind === 'none' ? '' : `, expected ${x.kind}${'k' in x ? ` ${x.k}` : ''}`}`;
}

interface Started {
  readonly copy: NewEvent[];
  readonly expected: number | undefined;
  readonly got: Promise<Settled<number>>;
}

/** Calls append; the model keeps its own copy, and the caller's objects are changed after the call (the store copied them). */
function startAppend(real: StreamSession, events: NewEvent[], expected: number | undefined): Started {
  const copy = structuredClone(events);
  const got = settle(real.append(events, expected === undefined ? undefined : { expectedVersion: expected }));
  for (const e of events) {
    (e.data as { n: number }).n = -999;
    if (e.metadata !== undefined) e.metadata.userId = 'changed';
  }
  return { copy, expected, got };
}

/** Applies an append to the model and compares its outcome with the store's `got`. */
function judgeAppend(m: StreamsModel, s: MSession, { copy, expected }: Started, got: Settled<number>, label: string): void {
  const head = m.head(s.stream);
  const ids = copy.map((e) => e.id).filter((id): id is string => id !== undefined);
  const argError = expected === -1 || copy.some((e) => e.expectedVersion === 0) || (copy.length > 1 && new Set(ids).size !== ids.length) ? E.arg : false;
  const what = `${label} with ${JSON.stringify({ events: copy, expected })}`;
  const gate = gateOf(m, s, argError, true);
  if (gate !== undefined) {
    compare(got, { code: gate }, what);
    return;
  }
  if (expected !== undefined && expected !== head) {
    compare(got, { code: E.mismatch, fields: { expected, actual: head } }, what);
    return;
  }
  const bad = copy.findIndex((e, i) => e.expectedVersion !== undefined && e.expectedVersion !== head + 1 + i);
  if (bad >= 0) {
    compare(got, { code: E.mismatch, fields: { expected: copy[bad]!.expectedVersion, actual: head + 1 + bad } }, what);
    return;
  }
  // Which of several held ids is reported is not promised: any of them, with its version.
  const dups = ids.filter((id) => m.versionOf(s.stream, id) >= 0).map((id) => ({ idempotencyId: id, existingVersion: m.versionOf(s.stream, id) }));
  if (dups.length > 0) {
    compare(got, { code: E.duplicate, anyOf: dups }, what);
    return;
  }
  const now = iso(m.now[s.provider]!);
  const st = m.streams[s.stream]!;
  copy.forEach((e, i) => st.events.push({ id: e.id, type: e.type, data: e.data as Json, given: e.metadata as Record<string, Json> | undefined, createdAt: now, version: head + 1 + i }));
  if (ids.length > 0) st.lastWithIds = structuredClone(copy);
  if (compare(got, { ok: head + copy.length }, what)) expect(got.ok, what).toBe(head + copy.length);
}

async function appendAndCompare(m: StreamsModel, s: MSession, real: StreamSession, events: NewEvent[], expected: number | undefined, label: string): Promise<void> {
  const started = startAppend(real, events, expected);
  judgeAppend(m, s, started, await started.got, label);
}

export class AppendCmd extends SessionCmd {
  constructor(slot: number, readonly specs: EvSpec[], readonly expected: Expected) {
    super(slot);
  }
  async exec(m: StreamsModel, s: MSession, real: StreamSession): Promise<void> {
    const head = m.head(s.stream);
    await appendAndCompare(m, s, real, buildEvents(m, s, this.specs, head), expectedAt(this.expected, head), this.toString());
  }
  toString(): string {
    return `append(slot ${this.slot}, ${specsText(this.specs, this.expected)})`;
  }
}

/**
 * A retried append: the last successful append with ids given by the caller, again, with the
 * same content or changed data (docs/streams.md: an id the stream holds is
 * DuplicateIdempotencyIdError, whatever the content; nothing is written).
 */
export class RetryCmd extends SessionCmd {
  constructor(slot: number, readonly changed: boolean) {
    super(slot);
  }
  override check(m: Readonly<StreamsModel>): boolean {
    const s = m.slots[this.slot];
    return s !== undefined && m.streams[s.stream]!.lastWithIds !== undefined;
  }
  async exec(m: StreamsModel, s: MSession, real: StreamSession): Promise<void> {
    const events = structuredClone(m.streams[s.stream]!.lastWithIds!).map((e) => {
      delete e.expectedVersion;
      if (this.changed) e.data = { n: (e.data as { n: number }).n + 100 };
      return e;
    });
    await appendAndCompare(m, s, real, events, undefined, this.toString());
  }
  toString(): string {
    return `retry(slot ${this.slot}${this.changed ? ', changed data' : ''})`;
  }
}

/**
 * 2 to 4 appends issued without waiting, then, maybe, close(): they must settle as if run one
 * after the other in call order (close waits for them). Expected versions are taken at the
 * head before the burst ('right' is right for the first append only).
 */
export class BurstCmd extends SessionCmd {
  constructor(slot: number, readonly items: { specs: EvSpec[]; expected: Expected }[], readonly thenClose: boolean) {
    super(slot);
  }
  async exec(m: StreamsModel, s: MSession, real: StreamSession): Promise<void> {
    const head = m.head(s.stream);
    const started = this.items.map((it) => startAppend(real, buildEvents(m, s, it.specs, head), expectedAt(it.expected, head)));
    const closed = this.thenClose ? settle(real.close()) : undefined;
    const results = await Promise.all(started.map((x) => x.got));
    started.forEach((x, i) => judgeAppend(m, s, x, results[i]!, `${this.toString()}: #${i + 1}`));
    if (closed !== undefined) {
      compare(await closed, { ok: undefined }, `${this.toString()}: close`);
      m.close(s);
    }
  }
  toString(): string {
    return `burst(slot ${this.slot}, ${this.items.map((it) => specsText(it.specs, it.expected)).join(' | ')}${this.thenClose ? ', then close' : ''})`;
  }
}

export const burstArb = (slotArb: fc.Arbitrary<number>, evSpecArb: fc.Arbitrary<EvSpec>, expectedArb: fc.Arbitrary<Expected>): fc.Arbitrary<BurstCmd> =>
  fc
    .tuple(slotArb, fc.array(fc.record({ specs: fc.array(evSpecArb, { minLength: 0, maxLength: 3 }), expected: expectedArb }), { minLength: 2, maxLength: 4 }), fc.boolean())
    .map(([sl, items, close]) => new BurstCmd(sl, items, close));
