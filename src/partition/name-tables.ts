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

/** One key with live events in the partition. */
export interface KeyState {
  id: number;
  /** The key's last version (of its newest committed event). */
  version: number;
  /** Position of the event that has `version`. */
  lastPosition: number;
  /** Live events of the key. */
  live: number;
  /** The key's UTF-8 bytes, to find it again from input bytes without making a string. */
  bytes: Uint8Array;
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
    for (let ks = this.byHash.get(h); ks !== undefined; ks = ks.next) {
      if (ks.h0 === h && sameBytes(ks.bytes, u8, at, len)) return ks;
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
    const ks: KeyState = {
      id, version: e < 0 ? 0 : this.dir.version(e), lastPosition: e < 0 ? 0 : this.dir.lastPosition(e), live: 0,
      bytes, h0, h1, next: this.byHash.get(h0), positions: [], first: 0, epoch: 0, baseVersion: 0, basePosition: 0,
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

/** Event types with live events, by name and id, with a one-entry cache of the last type's bytes (types repeat). */
export class TypeTable {
  readonly byName = new Map<string, number>();
  readonly names: string[] = [];
  private readonly live: number[] = [];
  private readonly free: number[] = [];
  private last: Uint8Array | null = null;
  private lastId = 0;

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
    const last = this.last;
    if (last !== null && sameBytes(last, u8, at, len)) {
      this.live[this.lastId]++;
      return this.lastId;
    }
    const id = this.acquire(readUtf8(u8, at, len));
    this.last = u8.slice(at, at + len);
    this.lastId = id;
    return id;
  }

  /** One live event of type `id` went; the type is dropped with its last one. */
  release(id: number): void {
    if (--this.live[id] > 0) return;
    this.byName.delete(this.names[id]);
    this.names[id] = '';
    this.free.push(id);
    if (this.lastId === id) this.last = null;
  }

  /** Types with live events. */
  get size(): number {
    return this.byName.size;
  }
}
