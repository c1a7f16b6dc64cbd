/**
 * A partition's interned names: keys and event types with live events get
 * small integer ids (stored per slot in `keyId` and `typeId`), found again
 * from the input ring's UTF-8 bytes without making a string once a name is
 * known. Memory follows the live events: a name is dropped (and its id reused)
 * when its last live event is evicted or purged. A key keeps its version and
 * its index (its live positions, oldest first); a dropped key's version goes
 * to the key directory (key-directory.ts). Worker-local; rebuilt from the
 * slots on restart.
 */
import { readUtf8 } from '../ring/utf8.js';
import type { TableHash } from './hash.js';
import type { KeyDirectory } from './key-directory.js';

const encoder = new TextEncoder();

function sameBytes(a: Uint8Array, u8: Uint8Array, at: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let i = 0; i < len; i++) if (a[i] !== u8[at + i]) return false;
  return true;
}

/** Bytes of a key kept in its state's own fields (longer keys also keep a byte array). */
const PACKED_BYTES = 15;

/**
 * Bytes [3k, 3k + 3) of u8[at, at+len) as one little-endian integer (0 past len). Three bytes,
 * not four: a value under 2^24 stays a small integer in V8, where 4 ASCII bytes (2^30 and up)
 * would make the field a heap number, one more object to reach.
 */
function packedWord(u8: Uint8Array, at: number, len: number, k: number): number {
  let w = 0;
  const end = len < 3 * k + 3 ? len : 3 * k + 3;
  for (let i = 3 * k, shift = 0; i < end; i++, shift += 8) w |= u8[at + i] << shift;
  return w;
}

/** One key with live events in the partition. */
export interface KeyState {
  id: number;
  /** The key's last version (of its newest committed event). */
  version: number;
  /** Position of the event that has `version`. */
  lastPosition: number;
  /** Live events of the key. */
  live: number;
  /**
   * The key's UTF-8 bytes, to find it again from input bytes without making a string: its length and
   * first 15 bytes packed in five small-integer fields, the whole bytes in `long` only past 15 (a lookup then
   * touches no object but the state itself: with thousands of keys, the byte array's two objects were
   * two cache misses per commit, a third of the commit's time).
   */
  len: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  w4: number;
  long: Uint8Array | null;
  /** 64-bit seeded hash of the bytes (h0 is also the lookup hash). */
  h0: number;
  h1: number;
  /** Next key with the same lookup hash. */
  next: KeyState | undefined;
  /** The key index: positions of this key's events, oldest first, from `first` on. */
  positions: number[];
  first: number;
  /** The drain that last touched the key, and its committed version and position then (committer.ts). */
  epoch: number;
  baseVersion: number;
  basePosition: number;
}

/** Keys with live events, by name, by id and by the hash of their bytes. */
export class KeyTable {
  readonly byName = new Map<string, KeyState>();
  /** Key states by key id (undefined: a free id). The key index lives in them. */
  readonly byId: (KeyState | undefined)[] = [];
  readonly names: string[] = [];
  private readonly byHash = new Map<number, KeyState>();
  private readonly free: number[] = [];
  private readonly hash: TableHash;
  private readonly dir: KeyDirectory;

  constructor(hash: TableHash, dir: KeyDirectory) {
    this.hash = hash;
    this.dir = dir;
  }

  /** Keys with live events. */
  get size(): number {
    return this.byName.size;
  }

  /** The state of the key whose UTF-8 bytes are u8[at, at+len), made (from the directory) on first sight. */
  stateAt(u8: Uint8Array, at: number, len: number): KeyState {
    const h = this.hash.bytes(u8, at, len, 1)[0];
    let ks = this.byHash.get(h);
    if (ks !== undefined) {
      const w0 = packedWord(u8, at, len, 0);
      const w1 = packedWord(u8, at, len, 1);
      const w2 = packedWord(u8, at, len, 2);
      const w3 = packedWord(u8, at, len, 3);
      const w4 = packedWord(u8, at, len, 4);
      for (; ks !== undefined; ks = ks.next) {
        if (ks.h0 === h && ks.len === len && ks.w0 === w0 && ks.w1 === w1 && ks.w2 === w2 && ks.w3 === w3 && ks.w4 === w4 &&
          (ks.long === null || sameBytes(ks.long, u8, at, len))) return ks;
      }
    }
    return this.make(readUtf8(u8, at, len), u8.slice(at, at + len));
  }

  /** The state of `key` (recovery and tests). */
  state(key: string): KeyState {
    return this.byName.get(key) ?? this.make(key, encoder.encode(key));
  }

  private make(name: string, bytes: Uint8Array): KeyState {
    const h = this.hash.bytes(bytes, 0, bytes.length, 2);
    const h0 = h[0];
    const h1 = h[1];
    const e = this.dir.find(h0, h1);
    const id = this.free.length > 0 ? this.free.pop()! : this.names.length;
    const len = bytes.length;
    const ks: KeyState = {
      id, version: e < 0 ? 0 : this.dir.version(e), lastPosition: e < 0 ? 0 : this.dir.lastPosition(e), live: 0,
      len, w0: packedWord(bytes, 0, len, 0), w1: packedWord(bytes, 0, len, 1), w2: packedWord(bytes, 0, len, 2), w3: packedWord(bytes, 0, len, 3),
      w4: packedWord(bytes, 0, len, 4), long: len > PACKED_BYTES ? bytes : null,
      h0, h1, next: this.byHash.get(h0), positions: [], first: 0, epoch: 0, baseVersion: 0, basePosition: 0,
    };
    this.byName.set(name, ks);
    this.byId[id] = ks;
    this.names[id] = name;
    this.byHash.set(h0, ks);
    return ks;
  }

  /** Drops a key whose last live event went: its version goes to the directory, its id is reused. */
  retire(ks: KeyState): void {
    if (ks.version > 0) this.dir.record(ks.h0, ks.h1, ks.version, ks.lastPosition);
    this.drop(ks);
  }

  /** Drops a key that got no event since it was made (a refused append): nothing to remember. */
  drop(ks: KeyState): void {
    // Dropped already (a refused batch record dropped the key its batch looked up): its id may be another key's now.
    if (this.byId[ks.id] !== ks) return;
    const name = this.names[ks.id];
    this.byName.delete(name);
    this.byId[ks.id] = undefined;
    this.names[ks.id] = '';
    this.free.push(ks.id);
    const head = this.byHash.get(ks.h0);
    if (head === ks) {
      if (ks.next === undefined) this.byHash.delete(ks.h0);
      else this.byHash.set(ks.h0, ks.next);
    } else {
      for (let p = head; p !== undefined; p = p.next) {
        if (p.next === ks) {
          p.next = ks.next;
          break;
        }
      }
    }
  }

  /** Id space in use (ids of dropped keys are reused): what per-key query arrays are sized by. */
  get idSpan(): number {
    return this.names.length;
  }
}

/** Types whose bytes {@link TypeTable.acquireAt} remembers (events cycle through a few types). */
const RECENT_TYPES = 8;

/**
 * Event types with live events, by name and id, with the bytes of the last few types seen (types
 * repeat: a one-entry cache missed on every event of a stream cycling through 4 types, and each
 * miss decoded the type, looked it up by string and copied its bytes).
 */
export class TypeTable {
  readonly byName = new Map<string, number>();
  readonly names: string[] = [];
  private readonly live: number[] = [];
  private readonly free: number[] = [];
  private readonly recent: (Uint8Array | null)[] = new Array<Uint8Array | null>(RECENT_TYPES).fill(null);
  private readonly recentIds = new Int32Array(RECENT_TYPES);
  private nextRecent = 0;

  /** The id of `type`, made on first sight, with one more live event. */
  acquire(type: string): number {
    let id = this.byName.get(type);
    if (id === undefined) {
      id = this.free.length > 0 ? this.free.pop()! : this.names.length;
      this.byName.set(type, id);
      this.names[id] = type;
      this.live[id] = 0;
    }
    this.live[id]++;
    return id;
  }

  /** Like {@link acquire}, from the type's UTF-8 bytes u8[at, at+len). */
  acquireAt(u8: Uint8Array, at: number, len: number): number {
    const recent = this.recent;
    for (let i = 0; i < RECENT_TYPES; i++) {
      const r = recent[i];
      if (r !== null && sameBytes(r, u8, at, len)) {
        const id = this.recentIds[i];
        this.live[id]++;
        return id;
      }
    }
    const id = this.acquire(readUtf8(u8, at, len));
    const slot = this.nextRecent;
    this.nextRecent = slot + 1 === RECENT_TYPES ? 0 : slot + 1;
    recent[slot] = u8.slice(at, at + len);
    this.recentIds[slot] = id;
    return id;
  }

  /** One live event of type `id` went; the type is dropped with its last one. */
  release(id: number): void {
    if (--this.live[id] > 0) return;
    this.byName.delete(this.names[id]);
    this.names[id] = '';
    this.free.push(id);
    for (let i = 0; i < RECENT_TYPES; i++) if (this.recent[i] !== null && this.recentIds[i] === id) this.recent[i] = null;
  }

  /** Types with live events. */
  get size(): number {
    return this.byName.size;
  }
}
