// Fuzz test of the input ring's record codec (src/ring/record.ts): records of
// random sizes, at and around every limit, written into a shared buffer with
// canary bytes around each claim. The canaries must stay intact, and decoding
// a record must give back exactly what was encoded; a record whose text does
// not fit its claim is published as VOID (and written again with an exact
// claim, as the producer does). Through the store: an event at and around
// maxEventBytes and the arena is either stored whole or refused with a code.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore } from '../../dist/src/index.js';
import { Rec, RecKind, recordBytes, recordTextAt, writeRecord, type RecordFields } from '../../dist/src/ring/record.js';

const CANARY = 0xa5;
const GAP = 16; // canary bytes before and after each claim (a multiple of 8: records are 8-byte aligned)
const bytes = (s: string): number => Buffer.byteLength(s);
const decoder = new TextDecoder();

/** Text with ASCII, 2-, 3- and 4-byte characters (well-formed: ids, keys and types must be). */
const text = (max: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength: max }),
    fc.string({ unit: 'grapheme', maxLength: Math.max(1, Math.floor(max / 4)) }),
    fc.constantFrom('', 'é', '€', '😀', 'a'.repeat(max)),
  );

const recordArb = fc.record({
  valueCount: fc.integer({ min: 0, max: 4 }),
  vals: fc.array(fc.double({ noNaN: true }), { minLength: 4, maxLength: 4 }),
  id: text(256),
  key: text(1024),
  type: text(256),
  json: fc.oneof(text(2000), fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null')),
  ts: fc.double({ noNaN: true }),
  expected: fc.integer({ min: -1, max: 2 ** 31 }),
  producer: fc.integer({ min: 0, max: 1023 }),
  ticket: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  batch: fc.integer({ min: 0, max: 4096 }),
  flags: fc.constantFrom(0, 1 << 8, (1 << 8) | (1 << 9), (1 << 8) | (1 << 10)),
  // The claim as the producer sizes it first (JSON characters, not bytes), or exact.
  exact: fc.boolean(),
});

type Gen = typeof recordArb extends fc.Arbitrary<infer R> ? R : never;

function fieldsOf(g: Gen): RecordFields {
  return {
    kindFlags: g.flags, producer: g.producer, ticket: g.ticket, batch: g.batch, expected: g.expected, ts: g.ts,
    vals: Float64Array.from(g.vals), valsAt: 0, id: g.id, key: g.key, type: g.type, json: g.json,
  };
}

describe('the record codec', () => {
  it('round-trips every record, never writes outside its claim, and publishes a short claim as VOID', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 8 }), (gens) => {
        // Lay out each record's worst case (3 bytes per UTF-16 unit) between canaries.
        const worst = gens.map((g) => recordBytes(g.valueCount, bytes(g.id), bytes(g.key), bytes(g.type), 3 * g.json.length));
        const size = worst.reduce((a, w) => a + GAP + 2 * w, GAP);
        const sab = new SharedArrayBuffer(size);
        const i32 = new Int32Array(sab);
        const f64 = new Float64Array(sab);
        const u8 = new Uint8Array(sab);
        u8.fill(CANARY);
        const claims: { off: number; need: number }[] = [];
        let at = GAP;
        gens.forEach((g, n) => {
          const exactNeed = recordBytes(g.valueCount, bytes(g.id), bytes(g.key), bytes(g.type), bytes(g.json));
          const first = g.exact ? exactNeed : recordBytes(g.valueCount, bytes(g.id), bytes(g.key), bytes(g.type), g.json.length);
          const r = fieldsOf(g);
          u8.fill(0, at, at + first); // a released claim reads as zero
          const fits = writeRecord(i32, f64, u8, at, first, g.valueCount, r);
          claims.push({ off: at, need: first });
          expect(Atomics.load(i32, (at >> 2) + Rec.LENGTH)).toBe(first);
          if (first >= exactNeed) expect(fits).toBe(true);
          if (!fits) {
            expect(i32[(at >> 2) + Rec.KIND] & 0xff).toBe(RecKind.VOID);
            at += first + GAP;
            u8.fill(0, at, at + exactNeed);
            expect(writeRecord(i32, f64, u8, at, exactNeed, g.valueCount, r)).toBe(true);
            claims.push({ off: at, need: exactNeed });
          }
          // Decode the record that holds the event.
          const c = claims[claims.length - 1];
          const w = c.off >> 2;
          const f = c.off >> 3;
          expect(i32[w + Rec.KIND]).toBe(RecKind.EVENT | g.flags);
          expect([i32[w + Rec.PRODUCER], i32[w + Rec.TICKET], i32[w + Rec.BATCH]]).toEqual([g.producer, g.ticket, g.batch]);
          expect([f64[f + Rec.F_TS], f64[f + Rec.F_EXPECTED]]).toEqual([g.ts, g.expected]);
          for (let v = 0; v < g.valueCount; v++) expect(f64[f + Rec.F_VALUES + v]).toBe(g.vals[v]);
          let p = recordTextAt(c.off, g.valueCount);
          const take = (len: number): string => {
            const s = decoder.decode(u8.subarray(p, p + len));
            p += len;
            return s;
          };
          const idLen = i32[w + Rec.ID_LEN];
          const keyLen = i32[w + Rec.KEY_LEN];
          const typeLen = i32[w + Rec.TYPE_LEN];
          const payLen = i32[w + Rec.PAYLOAD_LEN];
          expect([take(Math.max(0, idLen)), take(keyLen), take(typeLen), take(payLen)], `record ${n}`).toEqual([g.id, g.key, g.type, g.json]);
          expect(p).toBeLessThanOrEqual(c.off + c.need);
          at += c.need + GAP;
        });
        // Every byte outside the claims is still a canary.
        const inside = new Uint8Array(size);
        for (const c of claims) inside.fill(1, c.off, c.off + c.need);
        for (let i = 0; i < size; i++) if (inside[i] === 0 && u8[i] !== CANARY) throw new Error(`byte ${i} outside every claim was overwritten`);
      }),
      { numRuns: 400 },
    );
  });
});

describe('events at and around the size limits, through the store', () => {
  const ARENA = 1024;
  const MAX_EVENT = 600;
  const store = EventStore.create<{ k: string; pad: string }>({ partitions: 1, capacity: 16, payloadBytes: ARENA, maxEventBytes: MAX_EVENT, key: 'k' });
  afterAll(() => store.close());

  it('are stored whole or refused with RS_ERR_EVENT_TOO_LARGE, never cut', async () => {
    const unit = fc.constantFrom('x', 'é', '€', '😀');
    const keyLen = fc.oneof(fc.constant(1), fc.integer({ min: 100, max: 400 }));
    const near = fc.integer({ min: -12, max: 12 });
    const target = fc.constantFrom(MAX_EVENT, ARENA - 26, ARENA - 26 - 100, ARENA - 26 - 400);
    await fc.assert(
      fc.asyncProperty(unit, keyLen, near, target, fc.boolean(), async (u, kl, d, t, viaTry) => {
        const k = 'k'.repeat(kl);
        const base = JSON.stringify({ k, pad: '' }).length;
        const pad = u.repeat(Math.max(0, Math.floor((t + d - base) / Buffer.byteLength(u))));
        const e = { k, pad };
        const json = JSON.stringify(e);
        const fits = bytes(json) <= MAX_EVENT && ((26 + kl + bytes(json) + 3) & ~3) <= ARENA;
        let outcome: 'stored' | string;
        try {
          if (viaTry) {
            expect(store.tryAppend(e)).toBe(true);
            await store.flush();
          } else await store.append(e);
          outcome = 'stored';
        } catch (err) {
          outcome = (err as { code?: string }).code ?? String(err);
        }
        expect(outcome, `${bytes(json)} bytes of JSON, key ${kl}`).toBe(fits ? 'stored' : 'RS_ERR_EVENT_TOO_LARGE');
        if (fits) {
          const last = (await store.snapshot()).at(-1);
          expect(last?.payload).toEqual(e);
        }
        const s = store.stats;
        expect(s.rejected).toBe(0); // nothing too large ever reaches the worker
      }),
      { numRuns: 150 },
    );
  });
});
