// tryAppend's size check at the arena's bound (src/store/producer.ts): an event whose stored bytes (id, key,
// type, JSON, rounded up to 4) fill the arena is taken, one byte more is refused with RS_ERR_EVENT_TOO_LARGE,
// counting UTF-8 bytes, not characters, and the record's own id bytes when the caller gives one.
import { describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';

const ARENA = 128; // one partition: its arena is all of payloadBytes (maxEventBytes 96: the key takes it over the arena)
const KEY = 'k'.repeat(10);
/** An event `{"k":KEY,"p":"<pad>"}` of `bytes` bytes of JSON, its padding of `ch` (1 to 3 UTF-8 bytes each). */
function ev(bytes: number, ch = 'x'): { k: string; p: string } {
  const base = JSON.stringify({ k: KEY, p: '' }).length;
  const per = Buffer.byteLength(ch);
  const n = Math.floor((bytes - base) / per);
  const e = { k: KEY, p: ch.repeat(n) + 'x'.repeat(bytes - base - n * per) };
  expect(Buffer.byteLength(JSON.stringify(e))).toBe(bytes);
  return e;
}

describe('tryAppend at the arena bound', () => {
  // Generated id: 26 bytes; the key: 10; no type. Stored = (36 + json + 3) & ~3, so json <= ARENA - 36 fits.
  const FIT = ARENA - 26 - KEY.length;
  it.each([
    { what: 'ASCII', ch: 'x' },
    { what: '2-byte characters', ch: 'é' },
    { what: '3-byte characters', ch: '€' },
  ])('$what: json of arena-1, arena and arena+1 stored bytes', async ({ ch }) => {
    const store = EventStore.create({ partitions: 1, capacity: 64, payloadBytes: ARENA, maxEventBytes: 96, key: 'k' });
    try {
      expect(store.tryAppend(ev(FIT - 1, ch))).toBe(true);
      expect(store.tryAppend(ev(FIT, ch))).toBe(true);
      expect(() => store.tryAppend(ev(FIT + 1, ch))).toThrow(expect.objectContaining({ code: 'RS_ERR_EVENT_TOO_LARGE' }));
      await store.flush();
      const snap = await store.snapshot();
      // Each fills most of the arena: the second evicted the first. Stored whole, not cut.
      expect(snap.map((e) => Buffer.byteLength(JSON.stringify(e.payload)))).toEqual([FIT]);
    } finally {
      await store.close();
    }
  });

  it('a caller id counts its own UTF-8 bytes', async () => {
    const store = EventStore.create({ partitions: 1, capacity: 64, payloadBytes: ARENA, maxEventBytes: 96, key: 'k' });
    try {
      const id = 'é'.repeat(15); // 30 bytes: 4 more than a generated id
      expect(store.tryAppend(ev(FIT - 4), { id })).toBe(true);
      expect(() => store.tryAppend(ev(FIT - 3), { id: id + 'x' })).toThrow(expect.objectContaining({ code: 'RS_ERR_EVENT_TOO_LARGE' }));
      await store.flush();
      const snap = await store.snapshot();
      expect(snap.map((e) => e.id)).toEqual([id]);
    } finally {
      await store.close();
    }
  });
});
