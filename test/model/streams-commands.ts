// The commands of the streams model test (streams.model.test.ts): each runs one call on
// the real provider or session and on the model, and compares the outcomes.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { StreamSession } from '../../dist/src/streams/index.js';
import { StreamStoreProvider } from '../../dist/src/streams/index.js';
import { compare, gateOf, iso, POOL, type Real, sameEvents, settle, SLOTS, STREAMS } from './streams-check.js';
import { E, reducer, StreamsModel, type Json, type MSession } from './streams-model.js';

export abstract class SessionCmd implements fc.AsyncCommand<StreamsModel, Real> {
  constructor(readonly slot: number) {}
  check(m: Readonly<StreamsModel>): boolean {
    return m.slots[this.slot] !== undefined;
  }
  async run(m: StreamsModel, r: Real): Promise<void> {
    await this.exec(m, m.slots[this.slot]!, r.slots[this.slot]!, r);
  }
  abstract exec(m: StreamsModel, s: MSession, real: StreamSession, r: Real): Promise<void>;
  protected gate(m: StreamsModel, s: MSession, argError?: string | false, write = false): string | undefined {
    return gateOf(m, s, argError, write);
  }
  abstract toString(): string;
}

export class OpenCmd implements fc.AsyncCommand<StreamsModel, Real> {
  constructor(readonly slot: number, readonly provider: number, readonly stream: number, readonly timeoutMs: number, readonly waitMs = 0) {}
  check(): boolean {
    return true;
  }
  async run(m: StreamsModel, r: Real): Promise<void> {
    const p = this.provider;
    const start = m.now[p]!;
    const lease = m.streams[this.stream]!.lease;
    const got = await settle(r.providers[p]!.open(STREAMS[this.stream]!, { sessionTimeoutMs: this.timeoutMs, openTimeoutMs: this.waitMs }));
    if (this.timeoutMs < 1) {
      compare(got, { code: E.option }, this.toString());
      return;
    }
    // A wait for a held stream sleeps on the provider's ManualClock, which moves it: with backoff,
    // never past the holder's expiry by more than 1 ms, and never past openTimeoutMs.
    const end = r.clocks[p]!.now();
    const held = lease !== undefined && lease.expiresAt > start;
    if (!held) expect(end, `${this.toString()}: no wait`).toBe(start);
    else if (lease.expiresAt <= start + this.waitMs) {
      expect(end >= lease.expiresAt && end <= Math.min(lease.expiresAt + 1, start + this.waitMs), `${this.toString()}: woke at +${end - start} for a lease expiring at +${lease.expiresAt - start}`).toBe(true);
    } else expect(end, `${this.toString()}: gave up at openTimeoutMs`).toBe(start + this.waitMs);
    m.now[p] = end;
    const want = m.open(this.slot, p, this.stream, this.timeoutMs);
    if (typeof want === 'string') {
      compare(got, { code: want }, this.toString());
      return;
    }
    if (compare(got, { ok: got as never }, this.toString())) {
      r.slots[this.slot] = got.ok;
      expect(got.ok.expiresAt).toBe(want.expiresAt);
      expect(got.ok.isOpen).toBe(true);
    }
  }
  toString(): string {
    return `open(slot ${this.slot}, provider ${this.provider}, ${STREAMS[this.stream]}, ${this.timeoutMs} ms${this.waitMs > 0 ? `, wait ${this.waitMs} ms` : ''})`;
  }
}

export class RenewCmd extends SessionCmd {
  constructor(slot: number, readonly timeoutMs: number) {
    super(slot);
  }
  async exec(m: StreamsModel, s: MSession, real: StreamSession): Promise<void> {
    const got = await settle(real.renew(this.timeoutMs));
    const gate = this.gate(m, s, this.timeoutMs < 1 ? E.option : false, true);
    if (gate !== undefined) {
      compare(got, { code: gate }, this.toString());
      return;
    }
    s.expiresAt = m.now[s.provider]! + this.timeoutMs;
    m.streams[s.stream]!.lease!.expiresAt = s.expiresAt;
    if (compare(got, { ok: s.expiresAt }, this.toString())) expect([got.ok, real.expiresAt]).toEqual([s.expiresAt, s.expiresAt]);
  }
  toString(): string {
    return `renew(slot ${this.slot}, ${this.timeoutMs} ms)`;
  }
}

export class CloseCmd extends SessionCmd {
  async exec(m: StreamsModel, s: MSession, real: StreamSession): Promise<void> {
    // close() resolves whatever the lease's state (a lost lease is left to its holder), and is idempotent.
    compare(await settle(real.close()), { ok: undefined }, this.toString());
    m.close(s);
    expect(real.isOpen).toBe(false);
  }
  toString(): string {
    return `close(slot ${this.slot})`;
  }
}

/**
 * The case the fence exists for, made frequent: provider 1's clock is moved just past the
 * lease of a session of provider 0 (whose own clock still says it is live), and provider 1
 * takes the stream over into another slot.
 */
export class TakeoverCmd implements fc.AsyncCommand<StreamsModel, Real> {
  constructor(readonly slot: number, readonly into: number) {}
  check(m: Readonly<StreamsModel>): boolean {
    const s = m.slots[this.slot];
    return s !== undefined && !s.closed && s.provider === 0 && m.sessionError(s) === undefined && !m.takenOver(s);
  }
  async run(m: StreamsModel, r: Real): Promise<void> {
    const s = m.slots[this.slot]!;
    const skew = Math.max(0, s.expiresAt - m.now[1]!);
    await new ClockCmd(skew, true).run(m, r);
    await new OpenCmd((this.slot + 1 + this.into) % SLOTS, 1, s.stream, 1_000).run(m, r);
  }
  toString(): string {
    return `takeover(slot ${this.slot} by provider 1 into slot ${(this.slot + 1 + this.into) % SLOTS})`;
  }
}

export class ClockCmd implements fc.AsyncCommand<StreamsModel, Real> {
  constructor(readonly ms: number, readonly skewOnly: boolean) {}
  check(): boolean {
    return true;
  }
  async run(m: StreamsModel, r: Real): Promise<void> {
    for (const p of this.skewOnly ? [1] : [0, 1]) {
      m.now[p]! += this.ms;
      r.clocks[p]!.advance(this.ms);
    }
  }
  toString(): string {
    return this.skewOnly ? `skew(provider 1 +${this.ms} ms)` : `advance(${this.ms} ms)`;
  }
}

export type ReadKind = { op: 'version' } | { op: 'read'; to: number | undefined; snap: boolean } | { op: 'slice'; a: number; b: number } | { op: 'get'; v: number } | { op: 'versionOf'; i: number; unknown: boolean };

export class ReadCmd extends SessionCmd {
  constructor(slot: number, readonly k: ReadKind) {
    super(slot);
  }
  async exec(m: StreamsModel, s: MSession, real: StreamSession): Promise<void> {
    const k = this.k;
    const st = m.streams[s.stream]!;
    const head = st.events.length;
    const what = this.toString();
    if (k.op === 'version') {
      const got = await settle(real.version());
      const gate = this.gate(m, s);
      compare(got, gate !== undefined ? { code: gate } : { ok: head }, what) && expect(got.ok).toBe(head);
    } else if (k.op === 'read') {
      // toVersion: a number in 0..head+1, relative to the head when given as negative.
      const to = k.to === undefined ? undefined : k.to < 0 ? Math.max(0, head + 1 + k.to) : k.to;
      const got = await settle(real.read(to === undefined ? { useSnapshot: k.snap } : { toVersion: to, useSnapshot: k.snap }));
      const last = to ?? head;
      const gate = this.gate(m, s) ?? (last > head ? E.versionNotFound : undefined);
      if (!compare(got, gate !== undefined ? { code: gate } : { ok: got as never }, `${what} (to ${to})`)) return;
      const sv = k.snap && last > 0 ? m.snapshotAtOrBelow(s.stream, last) : 0;
      const snap = sv > 0 ? st.snapshots.get(sv)! : undefined;
      expect(got.ok.snapshot, `${what}: snapshot`).toEqual(snap === undefined ? undefined : { version: sv, state: snap.state, createdAt: snap.createdAt });
      sameEvents(got.ok.events, st.events.slice(sv, last), what);
    } else if (k.op === 'slice') {
      const got = await settle(real.slice(k.a, k.b));
      const gate = this.gate(m, s, k.a < 1 || k.b < 1 || k.a > k.b ? E.arg : false);
      if (compare(got, gate !== undefined ? { code: gate } : { ok: got as never }, what)) sameEvents(got.ok, st.events.slice(k.a - 1, Math.min(k.b, head)), what);
    } else if (k.op === 'get') {
      // v < 0: relative to the head (-1 = the head).
      const v = k.v < 0 ? head + 1 + k.v : k.v;
      const got = await settle(real.get(v));
      const gate = this.gate(m, s, v < 1 ? E.arg : false) ?? (v > head ? E.versionNotFound : undefined);
      if (compare(got, gate !== undefined ? { code: gate } : { ok: got as never }, `${what} (v ${v})`)) sameEvents([got.ok], [st.events[v - 1]!], what);
    } else {
      const known = m.knownIds(s.stream);
      const id = k.unknown ? `nope${k.i}` : known.length === 0 ? POOL[k.i % POOL.length]! : known[k.i % known.length]!;
      const got = await settle(real.versionOf(id));
      const v = m.versionOf(s.stream, id);
      const gate = this.gate(m, s) ?? (v < 0 ? E.idNotFound : undefined);
      compare(got, gate !== undefined ? { code: gate } : { ok: v }, `${what} (${id})`) && expect(got.ok).toBe(v);
    }
  }
  toString(): string {
    const k = this.k;
    const args = k.op === 'read' ? `to ${k.to}${k.snap ? ', useSnapshot' : ''}` : k.op === 'slice' ? `${k.a}, ${k.b}` : k.op === 'get' ? (k.v < 0 ? `head${k.v === -1 ? '' : k.v + 1}` : `${k.v}`) : k.op === 'versionOf' ? (k.unknown ? 'unknown' : `known#${k.i}`) : '';
    return `${k.op}(slot ${this.slot}${args ? `, ${args}` : ''})`;
  }
}

export type SnapKind = { op: 'snapshot'; v: number; x: number } | { op: 'every'; chunk: number } | { op: 'clear'; v: number } | { op: 'clearAll' } | { op: 'versions' };

export class SnapshotCmd extends SessionCmd {
  constructor(slot: number, readonly k: SnapKind) {
    super(slot);
  }
  async exec(m: StreamsModel, s: MSession, real: StreamSession): Promise<void> {
    const k = this.k;
    const st = m.streams[s.stream]!;
    const head = st.events.length;
    const now = iso(m.now[s.provider]!);
    const what = this.toString();
    if (k.op === 'snapshot') {
      // v <= 0: relative to the head (0 = the head), so most snapshots are in range.
      const v = k.v <= 0 ? head + k.v : k.v;
      const state = { x: k.x, nested: [k.x, { v }] };
      const got = await settle(real.snapshot(v, state));
      state.x = -1; // copied at the call: changing it afterwards changes nothing stored
      const gate = this.gate(m, s, v < 1 ? E.arg : false, true) ?? (v > head ? E.versionNotFound : undefined);
      if (gate === undefined) st.snapshots.set(v, { state: { x: k.x, nested: [k.x, { v }] }, createdAt: now });
      compare(got, gate !== undefined ? { code: gate } : { ok: undefined }, `${what} (v ${v})`);
    } else if (k.op === 'every') {
      const got = await settle(real.snapshotEvery<Json>(k.chunk, reducer));
      let gate = this.gate(m, s, k.chunk < 1 ? E.arg : false, true);
      const written: number[] = [];
      if (gate === undefined) {
        const versions = m.snapshotVersions(s.stream);
        const base = versions.length === 0 ? 0 : versions[versions.length - 1]!;
        let state = base === 0 ? undefined : st.snapshots.get(base)!.state;
        let previous = base;
        for (let v = (Math.floor(base / k.chunk) + 1) * k.chunk; v <= head; v += k.chunk) {
          state = reducer(state, st.events.slice(previous, v), v);
          st.snapshots.set(v, { state, createdAt: now });
          written.push(v);
          previous = v;
        }
      }
      compare(got, gate !== undefined ? { code: gate } : { ok: written }, what) && expect(got.ok).toEqual(written);
    } else if (k.op === 'clear') {
      const got = await settle(real.clearSnapshot(k.v));
      const gate = this.gate(m, s, k.v < 1 ? E.arg : false, true) ?? (st.snapshots.has(k.v) ? undefined : E.snapshotNotFound);
      if (gate === undefined) st.snapshots.delete(k.v);
      compare(got, gate !== undefined ? { code: gate } : { ok: undefined }, what);
    } else if (k.op === 'clearAll') {
      const got = await settle(real.clearSnapshots());
      const gate = this.gate(m, s, false, true);
      if (gate === undefined) st.snapshots.clear();
      compare(got, gate !== undefined ? { code: gate } : { ok: undefined }, what);
    } else {
      const got = await settle(real.snapshotVersions());
      const gate = this.gate(m, s);
      const want = m.snapshotVersions(s.stream);
      compare(got, gate !== undefined ? { code: gate } : { ok: want }, what) && expect(got.ok).toEqual(want);
      const last = await settle(real.lastSnapshotVersion());
      compare(last, gate !== undefined ? { code: gate } : { ok: 0 }, `${what}: last`) && expect(last.ok).toBe(want.length === 0 ? 0 : want[want.length - 1]);
    }
  }
  toString(): string {
    const k = this.k;
    const args = k.op === 'snapshot' ? `${k.v <= 0 ? `head${k.v === 0 ? '' : k.v}` : k.v}, x ${k.x}` : k.op === 'every' ? `${k.chunk}` : k.op === 'clear' ? `${k.v}` : '';
    return `${k.op === 'every' ? 'snapshotEvery' : k.op === 'clear' ? 'clearSnapshot' : k.op === 'clearAll' ? 'clearSnapshots' : k.op === 'versions' ? 'snapshotVersions' : 'snapshot'}(slot ${this.slot}${args ? `, ${args}` : ''})`;
  }
}

/** Reads every stream back through a fresh session of provider 0 and compares it with the model. */
export async function verifyAll(m: StreamsModel, r: Real, what: string): Promise<void> {
  for (let i = 0; i < STREAMS.length; i++) {
    const st = m.streams[i]!;
    const s = await r.providers[0]!.open(STREAMS[i]!, { openTimeoutMs: 0, sessionTimeoutMs: 60_000 });
    try {
      const w = `${what}: ${STREAMS[i]}`;
      expect(await s.version(), w).toBe(st.events.length);
      sameEvents((await s.read()).events, st.events, w);
      const versions = m.snapshotVersions(i);
      expect(await s.snapshotVersions(), w).toEqual(versions);
      for (const v of versions) {
        const snap = st.snapshots.get(v)!;
        expect((await s.read({ toVersion: v, useSnapshot: true })).snapshot, `${w}: snapshot ${v}`).toEqual({ version: v, state: snap.state, createdAt: snap.createdAt });
      }
      for (const e of st.events) expect(await s.versionOf(e.id!), `${w}: versionOf(${e.id})`).toBe(e.version);
    } finally {
      await s.close();
    }
  }
}

export class ReopenCmd implements fc.AsyncCommand<StreamsModel, Real> {
  check(): boolean {
    return true;
  }
  async run(m: StreamsModel, r: Real): Promise<void> {
    await reopen(m, r);
  }
  toString(): string {
    return 'reopen()';
  }
}

export async function reopen(m: StreamsModel, r: Real): Promise<void> {
  const old = r.providers;
  for (const p of old) await p.close();
  expect(await settle(old[1]!.open(STREAMS[0]!, { openTimeoutMs: 0 })).then((g) => ('code' in g ? g.code : 'resolved'))).toBe(E.closed);
  for (const s of r.slots) if (s !== undefined) expect(await settle(s.version()).then((g) => ('code' in g ? g.code : 'resolved'))).toBe(E.notOpen);
  const backend = await r.reopenBackend();
  r.providers = r.clocks.map((clock) => new StreamStoreProvider({ clock, backend }));
  m.reopen();
  await verifyAll(m, r, 'after reopen');
}
