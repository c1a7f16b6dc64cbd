/**
 * A partition's interned names: keys and event types get small integer ids
 * (stored per slot in `keyId` and `typeId`), found again from the input
 * ring's UTF-8 bytes without making a string once a name is known. Each key
 * also carries its version and its index (its live positions, oldest first).
 * Worker-local; rebuilt from the slots on restart.
 */
import { readUtf8 } from '../ring/utf8.js';

const encoder = new TextEncoder();

/** FNV-1a over a byte range. */
function hashBytes(u8: Uint8Array, at: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ u8[at + i], 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, u8: Uint8Array, at: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let i = 0; i < len; i++) if (a[i] !== u8[at + i]) return false;
  return true;
}

/** One key of the partition. */
export interface KeyState {
  id: number;
  version: number;
  /** The key's UTF-8 bytes, to find it again from input bytes without making a string. */
  bytes: Uint8Array;
  hash: number;
  /** Next key with the same byte hash. */
  next: KeyState | undefined;
  /** The key index: positions of this key's events, oldest first, from `first` on. */
  positions: number[];
  first: number;
}

/** Keys by name, by id and by the hash of their bytes. */
export class KeyTable {
  readonly byName = new Map<string, KeyState>();
  /** Key states by key id (the key index lives in them). */
  readonly byId: KeyState[] = [];
  readonly names: string[] = [];
  private readonly byHash = new Map<number, KeyState>();

  /** The state of `key`, made on first sight. */
  state(key: string): KeyState {
    let ks = this.byName.get(key);
    if (ks === undefined) {
      const bytes = encoder.encode(key);
      const hash = hashBytes(bytes, 0, bytes.length);
      ks = { id: this.names.length, version: 0, bytes, hash, next: this.byHash.get(hash), positions: [], first: 0 };
      this.byName.set(key, ks);
      this.byId.push(ks);
      this.byHash.set(hash, ks);
      this.names.push(key);
    }
    return ks;
  }

  /** The key whose UTF-8 bytes are u8[at, at+len): no string is made once the key is known. */
  stateAt(u8: Uint8Array, at: number, len: number): KeyState {
    const hash = hashBytes(u8, at, len);
    for (let ks = this.byHash.get(hash); ks !== undefined; ks = ks.next) {
      if (ks.hash === hash && sameBytes(ks.bytes, u8, at, len)) return ks;
    }
    return this.state(readUtf8(u8, at, len));
  }
}

/** Event types by name and id, with a one-entry cache of the last type's bytes (types repeat). */
export class TypeTable {
  readonly byName = new Map<string, number>();
  readonly names: string[] = [];
  private last: Uint8Array | null = null;
  private lastId = 0;

  /** The id of `type`, made on first sight. */
  id(type: string): number {
    let id = this.byName.get(type);
    if (id === undefined) {
      id = this.names.length;
      this.byName.set(type, id);
      this.names.push(type);
    }
    return id;
  }

  /** The id of the type whose UTF-8 bytes are u8[at, at+len). */
  idAt(u8: Uint8Array, at: number, len: number): number {
    const last = this.last;
    if (last !== null && sameBytes(last, u8, at, len)) return this.lastId;
    const id = this.id(readUtf8(u8, at, len));
    this.last = u8.slice(at, at + len);
    this.lastId = id;
    return id;
  }
}
