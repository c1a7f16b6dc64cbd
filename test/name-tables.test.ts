// The partition's name tables find a key or type again from its UTF-8 bytes in the input ring.
// Keys keep their length and first 15 bytes packed in the state (longer ones their bytes too):
// every key here must come back as itself and no other, at the packing's bounds, and when every
// key has the same lookup hash (a chain, compared by bytes alone).
import { describe, expect, it } from 'vitest';
import { KeyTable, TypeTable } from '../dist/src/partition/name-tables.js';
import { TableHash } from '../dist/src/partition/hash.js';

const dir = { find: () => -1, version: () => 0, lastPosition: () => 0, record: () => {} };
const enc = new TextEncoder();

/** Keys at the bounds of the packing: lengths 0..40, pairs differing in one byte at every index, multi-byte text. */
function boundKeys(): string[] {
  const keys = new Set<string>();
  for (let len = 0; len <= 40; len++) keys.add('k'.repeat(len));
  const base = 'abcdefghijklmnopqrstuvwxyz0123456789';
  for (let len = 1; len <= 36; len++) {
    for (let i = 0; i < len; i++) keys.add(base.slice(0, i) + 'Z' + base.slice(i + 1, len));
    keys.add(base.slice(0, len));
  }
  for (const k of ['é', 'éé', '€uro-key-16bytes', '😀😀😀😀', '😀😀😀😀x', 'ÿ'.repeat(8), 'ÿ'.repeat(9), '\u0000', '\u0000\u0000']) keys.add(k);
  return [...keys];
}

/** Writes each key into a shared buffer at an odd offset (input-ring bytes are not aligned) and returns where. */
function inRing(keys: string[]): { u8: Uint8Array; at: number[]; len: number[] } {
  const u8 = new Uint8Array(new SharedArrayBuffer(keys.length * 200 + 64));
  const at: number[] = [];
  const len: number[] = [];
  let o = 3;
  for (const k of keys) {
    const b = enc.encode(k);
    u8.set(b, o);
    at.push(o);
    len.push(b.length);
    o += b.length + 5;
  }
  return { u8, at, len };
}

describe('KeyTable.stateAt', () => {
  it.each([
    ['a seeded hash', () => new TableHash(987654321)],
    ['one lookup hash for every key (a single chain)', () => {
      const h = new TableHash(1);
      const real = h.bytes.bind(h);
      h.bytes = (u8: Uint8Array, at: number, len: number, lanes: number) => {
        const out = real(u8, at, len, lanes);
        out[0] = 42;
        return out;
      };
      return h;
    }],
  ])('finds every key again, and only itself, at the packing bounds (%s)', (_name, hash) => {
    const keys = boundKeys();
    const t = new KeyTable(hash(), dir as never);
    const ring = inRing(keys);
    const ids = keys.map((_k, i) => t.stateAt(ring.u8, ring.at[i], ring.len[i]).id);
    expect(new Set(ids).size).toBe(keys.length);
    expect(t.size).toBe(keys.length);
    // Found again from other bytes in other places: same state, same name.
    const again = inRing([...keys].reverse());
    for (let j = 0; j < keys.length; j++) {
      const i = keys.length - 1 - j;
      const ks = t.stateAt(again.u8, again.at[j], again.len[j]);
      expect(ks.id, JSON.stringify(keys[i])).toBe(ids[i]);
      expect(t.names[ks.id]).toBe(keys[i]);
    }
    expect(t.size).toBe(keys.length);
    // A dropped key is made afresh (its id reused); the others are still found.
    const gone = keys.indexOf('abcdefghijklmnopq');
    t.drop(t.byId[ids[gone]]!);
    for (let i = 0; i < keys.length; i++) if (i !== gone) expect(t.stateAt(ring.u8, ring.at[i], ring.len[i]).id).toBe(ids[i]);
    const made = t.stateAt(ring.u8, ring.at[gone], ring.len[gone]);
    expect(t.names[made.id]).toBe('abcdefghijklmnopq');
    expect(t.size).toBe(keys.length);
  });
});

describe('TypeTable.acquireAt', () => {
  it('types cycling through more than the recent entries keep their ids; a dropped type is not found by its old bytes', () => {
    const types = Array.from({ length: 12 }, (_, i) => (i === 0 ? '' : `type-${i}-${'é'.repeat(i % 3)}`));
    const ring = inRing(types);
    const t = new TypeTable();
    const ids = types.map((_x, i) => t.acquireAt(ring.u8, ring.at[i], ring.len[i]));
    expect(new Set(ids).size).toBe(types.length);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < types.length; i++) expect(t.acquireAt(ring.u8, ring.at[i], ring.len[i])).toBe(ids[i]);
    }
    for (let i = 0; i < 4; i++) expect(t.acquireAt(ring.u8, ring.at[1], ring.len[1])).toBe(ids[1]);
    // Type 1 has 1 + 3 + 4 live events: release them all, and its id goes to the next new type.
    for (let k = 0; k < 8; k++) t.release(ids[1]);
    expect(t.byName.has(types[1])).toBe(false);
    const fresh = inRing(['another']);
    const other = t.acquireAt(fresh.u8, fresh.at[0], fresh.len[0]);
    expect(other).toBe(ids[1]);
    expect(t.names[other]).toBe('another');
    const back = t.acquireAt(ring.u8, ring.at[1], ring.len[1]);
    expect(back).not.toBe(ids[1]);
    expect(t.names[back]).toBe(types[1]);
  });
});
