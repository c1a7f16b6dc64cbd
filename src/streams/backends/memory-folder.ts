/**
 * One folder of the in-memory backend. A folder starts in *ordered* mode:
 * parallel arrays (leaf, value, numeric etag, expiry) kept sorted by leaf, so
 * appending a leaf greater than the last one (events by version, monotonic
 * ULIDs in the idempotency index) is one string compare and three pushes, with
 * no Map hashing or per-record object. A write into the middle of a large
 * folder switches it for good to *map* mode (a Map plus lazily sorted leaves),
 * which keeps random keys O(1).
 */

/** A record as the backend sees it; `etag` is a number, formatted by the backend. */
export interface MemRec {
  value: unknown;
  etag: number;
  /** Epoch ms, or `Infinity` when written without a TTL. */
  expiresAt: number;
}

/** Folders at most this large stay ordered when written out of order (array splice). */
const SPLICE_LIMIT = 64;

/** Index of the first leaf >= `leaf` in the sorted `leaves`. */
export function lowerBound(leaves: readonly string[], leaf: string): number {
  let lo = 0;
  let hi = leaves.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (leaves[mid]! < leaf) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The records of one folder. Expiry is the caller's business (see {@link MemFolder.get}). */
export class MemFolder {
  /** The folder's name: its keys' prefix, up to and including the last `/`. */
  readonly name: string;
  /**
   * Set when the backend dropped this folder (it was empty): a holder of this
   * object (a native stream's lease fence) must look the folder up again.
   */
  detached = false;
  // Ordered mode (map === undefined): parallel arrays sorted by leaf.
  #leaves: string[] = [];
  #values: unknown[] = [];
  #etags: number[] = [];
  #expires: number[] = [];
  // Map mode: records by leaf; `#leaves` then lists them, sorted when `#sorted`, possibly with removed leaves when `#stale`.
  #map: Map<string, MemRec> | undefined;
  #sorted = true;
  #stale = false;

  /** @param name - the folder's name (its keys' prefix). */
  constructor(name: string) {
    this.name = name;
  }

  /** Number of records (including expired ones not yet dropped). */
  get size(): number {
    return this.#map === undefined ? this.#leaves.length : this.#map.size;
  }

  /** The record at `leaf` (a fresh object; expired records included). */
  get(leaf: string): MemRec | undefined {
    if (this.#map !== undefined) return this.#map.get(leaf);
    const leaves = this.#leaves;
    const n = leaves.length;
    if (n === 0 || leaf > leaves[n - 1]!) return undefined; // past the end: the common "absent" case
    const i = lowerBound(leaves, leaf);
    if (leaves[i] !== leaf) return undefined;
    return { value: this.#values[i], etag: this.#etags[i]!, expiresAt: this.#expires[i]! };
  }

  /** True when a record at `leaf` exists and is live at `now`. */
  has(leaf: string, now: number): boolean {
    if (this.#map !== undefined) {
      const r = this.#map.get(leaf);
      return r !== undefined && r.expiresAt > now;
    }
    const leaves = this.#leaves;
    const n = leaves.length;
    if (n === 0 || leaf > leaves[n - 1]!) return false;
    const i = lowerBound(leaves, leaf);
    return leaves[i] === leaf && this.#expires[i]! > now;
  }

  /** The etag of the record at `leaf` when it exists and is live at `now`, else -1 (no record object built). */
  etagAt(leaf: string, now: number): number {
    if (this.#map !== undefined) {
      const r = this.#map.get(leaf);
      return r !== undefined && r.expiresAt > now ? r.etag : -1;
    }
    const leaves = this.#leaves;
    const n = leaves.length;
    if (n === 0 || leaf > leaves[n - 1]!) return -1;
    const i = lowerBound(leaves, leaf);
    return leaves[i] === leaf && this.#expires[i]! > now ? this.#etags[i]! : -1;
  }

  /** Writes the record at `leaf` (insert or replace). */
  put(leaf: string, value: unknown, etag: number, expiresAt: number): void {
    if (this.#map !== undefined) {
      const had = this.#map.has(leaf);
      this.#map.set(leaf, { value, etag, expiresAt });
      if (!had) this.#pushLeaf(leaf);
      return;
    }
    const leaves = this.#leaves;
    const n = leaves.length;
    if (n === 0 || leaf > leaves[n - 1]!) {
      leaves.push(leaf);
      this.#values.push(value);
      this.#etags.push(etag);
      this.#expires.push(expiresAt);
      return;
    }
    const i = lowerBound(leaves, leaf);
    if (leaves[i] === leaf) {
      this.#values[i] = value;
      this.#etags[i] = etag;
      this.#expires[i] = expiresAt;
      return;
    }
    if (n >= SPLICE_LIMIT) {
      this.#toMap();
      this.put(leaf, value, etag, expiresAt);
      return;
    }
    leaves.splice(i, 0, leaf);
    this.#values.splice(i, 0, value);
    this.#etags.splice(i, 0, etag);
    this.#expires.splice(i, 0, expiresAt);
  }

  /** Removes `leaf`; true when it was there. */
  delete(leaf: string): boolean {
    if (this.#map !== undefined) {
      if (!this.#map.delete(leaf)) return false;
      this.#stale = true;
      return true;
    }
    const leaves = this.#leaves;
    const n = leaves.length;
    if (n === 0) return false;
    // Undo of an append removes the last leaf: O(1).
    const i = leaves[n - 1] === leaf ? n - 1 : lowerBound(leaves, leaf);
    if (leaves[i] !== leaf) return false;
    if (i === n - 1) {
      leaves.pop();
      this.#values.pop();
      this.#etags.pop();
      this.#expires.pop();
    } else {
      leaves.splice(i, 1);
      this.#values.splice(i, 1);
      this.#etags.splice(i, 1);
      this.#expires.splice(i, 1);
    }
    return true;
  }

  /**
   * Calls `visit` for the records with `start <= leaf <= end` in leaf order
   * until it returns false (fields as arguments: no object per record).
   */
  scan(start: string | undefined, end: string | undefined, visit: (leaf: string, value: unknown, etag: number, expiresAt: number) => boolean): void {
    const map = this.#map;
    if (map !== undefined) {
      if (this.#stale) {
        this.#leaves = [...map.keys()];
        this.#sorted = false;
        this.#stale = false;
      }
      if (!this.#sorted) {
        this.#leaves.sort();
        this.#sorted = true;
      }
    }
    const leaves = this.#leaves;
    for (let i = start === undefined ? 0 : lowerBound(leaves, start); i < leaves.length; i++) {
      const leaf = leaves[i]!;
      if (end !== undefined && leaf > end) break;
      let go: boolean;
      if (map === undefined) go = visit(leaf, this.#values[i], this.#etags[i]!, this.#expires[i]!);
      else {
        const r = map.get(leaf)!;
        go = visit(leaf, r.value, r.etag, r.expiresAt);
      }
      if (!go) break;
    }
  }

  #pushLeaf(leaf: string): void {
    const n = this.#leaves.length;
    if (this.#sorted && n > 0 && this.#leaves[n - 1]! >= leaf) this.#sorted = false;
    this.#leaves.push(leaf);
  }

  #toMap(): void {
    const map = new Map<string, MemRec>();
    const leaves = this.#leaves;
    for (let i = 0; i < leaves.length; i++) map.set(leaves[i]!, { value: this.#values[i], etag: this.#etags[i]!, expiresAt: this.#expires[i]! });
    this.#map = map;
    this.#values = [];
    this.#etags = [];
    this.#expires = [];
    this.#sorted = true;
    this.#stale = false;
  }
}
