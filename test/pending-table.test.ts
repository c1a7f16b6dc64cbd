// The producer's table of unsettled tickets (src/store/pending-table.ts) and the ticket runs it is
// filled from (AckRingReader.nextTickets): every ticket added is found exactly once, at the bounds
// of the table's growth (64 slots, doubling to 8192, then an overflow map), through wrap-around of
// the int32 ticket sequence (0 is never a ticket), and in any settle order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingTable } from '../dist/src/store/pending-table.js';
import { AckRingReader } from '../dist/src/ring/ack-ring.js';
import { PartitionMemory } from '../dist/src/ring/layout.js';
import { EventStore } from '../dist/src/index.js';

interface Owner {
  name: string;
}

/** Adds tickets first.. (int32 arithmetic) one by one for owner `o`, index i for the i-th. */
function addRun(t: PendingTable<Owner>, first: number, n: number, o: Owner): number[] {
  const tickets: number[] = [];
  for (let i = 0; i < n; i++) {
    const ticket = (first + i) | 0;
    t.add(ticket, o, i);
    tickets.push(ticket);
  }
  return tickets;
}

/** Takes `ticket`, returning [owner, index] or undefined. */
function take(t: PendingTable<Owner>, ticket: number): [Owner, number] | undefined {
  const o = t.take(ticket);
  return o === undefined ? undefined : [o, t.takenIndex];
}

describe('PendingTable', () => {
  it.each([63, 64])('holds %i consecutive tickets in its first 64 slots', (n) => {
    const t = new PendingTable<Owner>();
    const o = { name: 'a' };
    const tickets = addRun(t, 1, n, o);
    expect(t.capacity).toBe(64);
    expect(t.size).toBe(n);
    expect(t.overflowSize).toBe(0);
    for (let i = 0; i < n; i++) expect(take(t, tickets[i])).toEqual([o, i]);
    expect(t.size).toBe(0);
    for (const ticket of tickets) expect(t.take(ticket)).toBeUndefined();
  });

  it('grows to 128 slots for the 65th outstanding ticket', () => {
    const t = new PendingTable<Owner>();
    const o = { name: 'a' };
    const tickets = addRun(t, 1, 65, o);
    expect(t.capacity).toBe(128);
    expect(t.overflowSize).toBe(0);
    for (let i = 64; i >= 0; i--) expect(take(t, tickets[i])).toEqual([o, i]);
    expect(t.size).toBe(0);
  });

  it('grows by doubling up to 8192 slots, then keeps what collides in the overflow map', () => {
    const t = new PendingTable<Owner>();
    const o = { name: 'a' };
    const a = addRun(t, 5, 8191, o);
    expect(t.capacity).toBe(8192);
    expect(t.overflowSize).toBe(0);
    t.add((5 + 8191) | 0, o, 8191); // the 8192nd: still no collision
    expect(t.capacity).toBe(8192);
    expect(t.overflowSize).toBe(0);
    t.add((5 + 8192) | 0, o, 8192); // same slot as ticket 5, which is still pending
    expect(t.capacity).toBe(8192);
    expect(t.overflowSize).toBe(1);
    expect(t.size).toBe(8193);
    expect(take(t, 5 + 8192)).toEqual([o, 8192]);
    expect(t.overflowSize).toBe(0);
    for (let i = 0; i < a.length; i++) expect(take(t, a[i])).toEqual([o, i]);
    expect(take(t, 5 + 8191)).toEqual([o, 8191]);
    expect(t.size).toBe(0);
  });

  it('reuses the slots of settled tickets without growing', () => {
    const t = new PendingTable<Owner>();
    const o = { name: 'a' };
    let next = 1;
    for (let round = 0; round < 1000; round++) {
      const tickets = addRun(t, next, 40, o);
      next += 40;
      for (let i = 0; i < tickets.length; i++) expect(take(t, tickets[i])).toEqual([o, i]);
    }
    expect(t.capacity).toBe(64);
    expect(t.size).toBe(0);
  });

  it('finds tickets across the int32 wrap (negative tickets) and settles them out of order', () => {
    const t = new PendingTable<Owner>();
    const a = { name: 'a' };
    const b = { name: 'b' };
    const ta = addRun(t, 2 ** 31 - 30, 60, a); // 2^31-30 .. 2^31-1, then -2^31 ..
    expect(ta.some((x) => x < 0)).toBe(true);
    const tb = addRun(t, -40, 39, b); // -40 .. -2
    expect(t.size).toBe(99);
    const order = [...ta.map((x, i) => [x, a, i] as const), ...tb.map((x, i) => [x, b, i] as const)];
    for (let i = order.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const [ticket, owner, index] of order) expect(take(t, ticket)).toEqual([owner, index]);
    expect(t.size).toBe(0);
  });

  it('clear visits every pending ticket (table and overflow) once and empties the table', () => {
    const t = new PendingTable<Owner>();
    const o = { name: 'a' };
    addRun(t, 1, 8192, o);
    t.add(8193, o, 8192); // collides with pending ticket 1: overflow
    expect(t.overflowSize).toBe(1);
    const seen = new Set<number>();
    t.clear((owner, index) => {
      expect(owner).toBe(o);
      expect(seen.has(index)).toBe(false);
      seen.add(index);
    });
    expect(seen.size).toBe(8193);
    expect(t.size).toBe(0);
    expect(t.overflowSize).toBe(0);
    expect(t.take(1)).toBeUndefined();
    expect(t.take(8193)).toBeUndefined();
  });

  it('addRun registers n consecutive tickets as indexes from index0 on', () => {
    const t = new PendingTable<Owner>();
    const o = { name: 'a' };
    t.addRun(2 ** 31 - 2, 100, o, 7);
    expect(t.size).toBe(100);
    expect(take(t, 2 ** 31 - 2)).toEqual([o, 7]);
    expect(take(t, -(2 ** 31))).toEqual([o, 9]);
    expect(take(t, (2 ** 31 - 2 + 99) | 0)).toEqual([o, 106]);
    expect(t.size).toBe(97);
  });

  it('behaves as a map from ticket to (owner, index) (model)', () => {
    type Cmd = { op: 'add'; n: number } | { op: 'take'; pick: number } | { op: 'stale'; pick: number } | { op: 'clear' };
    const cmd = fc.oneof(
      fc.record({ op: fc.constant('add' as const), n: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ op: fc.constant('take' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('stale' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.array(cmd, { maxLength: 80 }), (start, cmds: Cmd[]) => {
        const t = new PendingTable<Owner>();
        const model = new Map<number, [Owner, number]>();
        const settled: number[] = [];
        let next = start === 0 ? 1 : start;
        let k = 0;
        for (const c of cmds) {
          if (c.op === 'add') {
            if (model.size + c.n > 8191) continue; // the ack ring's bound
            const o = { name: `o${k++}` };
            for (let i = 0; i < c.n; i++) {
              t.add(next, o, i);
              model.set(next, [o, i]);
              next = (next + 1) | 0 || 1;
            }
          } else if (c.op === 'take' && model.size > 0) {
            const keys = [...model.keys()];
            const ticket = keys[c.pick % keys.length];
            expect(take(t, ticket)).toEqual(model.get(ticket));
            model.delete(ticket);
            settled.push(ticket);
          } else if (c.op === 'stale' && settled.length > 0) {
            // A re-sent ack of a settled ticket finds nothing.
            expect(t.take(settled[c.pick % settled.length])).toBeUndefined();
          } else if (c.op === 'clear') {
            const seen = new Map<Owner, Set<number>>();
            t.clear((o, i) => {
              const s = seen.get(o) ?? new Set<number>();
              expect(s.has(i)).toBe(false);
              seen.set(o, s.add(i));
            });
            expect([...seen.values()].reduce((n, s) => n + s.size, 0)).toBe(model.size);
            for (const [ticket] of model) settled.push(ticket);
            model.clear();
          }
          expect(t.size).toBe(model.size);
        }
        for (const [ticket, v] of model) expect(take(t, ticket)).toEqual(v);
        expect(t.size).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('AckRingReader.nextTickets', () => {
  const geometry = { capacity: 64, arenaBytes: 4096, inputBytes: 4096, valueCount: 0, maxProducers: 1, ackCapacity: 64, dedupWindow: 16, dormantKeys: 16 };
  /** A reader whose last issued ticket is `last` (the slot's persisted counter). */
  function readerAt(last: number): AckRingReader {
    const mem = PartitionMemory.allocate(geometry);
    // The slot's persisted counter: word 1 of its ack ring's header line (src/ring/ack-ring.ts).
    new Int32Array(mem.sab, mem.offsets.acks, 2)[1] = last;
    return new AckRingReader(mem, 0);
  }

  it('gives a run of n consecutive tickets and continues after it', () => {
    const r = readerAt(10);
    expect(r.nextTickets(100)).toBe(11);
    expect(r.nextTickets(1)).toBe(111);
    expect(r.nextTicket()).toBe(112);
  });

  it('crosses 2^31 into negative tickets (no 0 inside)', () => {
    const r = readerAt(2 ** 31 - 3);
    expect(r.nextTickets(5)).toBe(2 ** 31 - 2); // 2^31-2, 2^31-1, -2^31, -2^31+1, -2^31+2
    expect(r.nextTicket()).toBe(-(2 ** 31) + 3);
  });

  it.each([
    { last: -2, n: 1, first: -1, after: 1 }, // the run ends just before 0
    { last: -2, n: 2, first: 1, after: 3 }, // the run would hold 0: it starts at 1
    { last: -1, n: 1, first: 1, after: 2 }, // a single ticket skips 0
    { last: -1, n: 50, first: 1, after: 51 },
    { last: -50, n: 49, first: -49, after: 1 },
    { last: -50, n: 50, first: 1, after: 51 },
  ])('skips ticket 0: after $last, a run of $n starts at $first', ({ last, n, first, after }) => {
    const r = readerAt(last);
    const got = r.nextTickets(n);
    expect(got).toBe(first);
    for (let i = 0; i < n; i++) expect((got + i) | 0).not.toBe(0);
    expect(r.nextTicket()).toBe(after);
  });
});

describe('ticket runs through a store', () => {
  /** Sets every producer slot's last issued ticket in every partition to `last`. */
  function setLastTicket(store: EventStore<unknown>, last: number): void {
    const d = store.descriptor();
    for (const sab of d.partitions) {
      const mem = new PartitionMemory(sab, d.geometry);
      for (let p = 0; p < d.geometry.maxProducers; p++) new Int32Array(mem.sab, mem.offsets.acks + p * mem.offsets.ackStride, 2)[1] = last;
    }
  }

  it.each([
    { what: 'a run that would hold ticket 0', last: -50 },
    { what: 'a run from 2^31 - 1 into negative tickets', last: 2 ** 31 - 50 },
  ])('$what: batches, single and conditional appends all settle', async ({ last }) => {
    const store = EventStore.create({ partitions: 1, capacity: 10_000, key: 'k' });
    try {
      setLastTicket(store, last);
      const batch = Array.from({ length: 100 }, (_, i) => ({ k: 'a', i }));
      const r = await store.append(batch);
      expect(r.map((x) => x.version)).toEqual(batch.map((_, i) => i + 1));
      const singles = await Promise.all(Array.from({ length: 60 }, (_, i) => store.append({ k: `s${i}` })));
      expect(new Set(singles.map((x) => x.position)).size).toBe(60);
      setLastTicket(store, last);
      const cond = await store.append(batch, { expectedVersion: 100 });
      expect(cond.map((x) => x.version)).toEqual(batch.map((_, i) => 101 + i));
      await expect(store.append(batch.slice(0, 3), { expectedVersion: 100 })).rejects.toMatchObject({ code: 'RS_ERR_CONFLICT' });
      expect(store.stats.live).toBe(260);
    } finally {
      await store.close();
    }
  });
});
