/**
 * A FIFO ring of hashed entries in shared memory, with a worker-local hash
 * index over it: the storage shape of the key directory and the dedup
 * window. The ring is the truth (it survives a worker restart, and is what a
 * checkpoint would save); the index only finds entries fast and is rebuilt
 * from the ring when a worker starts.
 *
 * - An entry is `stride` Int32 hash words plus two Float64 numbers; the
 *   first two hash words are its identity in the index (64 bits), any others
 *   are checked by the caller.
 * - Appending writes the entry, then advances the tail (one store): an entry
 *   cut short by a crash was never appended.
 * - The newest entry of an identity wins the index; popping the oldest entry
 *   removes it from the index only if it is still the one the index names.
 * - `trim(bound)` pops down to the bound; it runs at commit points, so
 *   between two of them the ring may hold up to `slots` entries.
 */
export class HashedRing {
  readonly slots: number;
  private readonly hash: Int32Array;
  private readonly num: Float64Array;
  private readonly stride: number;
  private readonly cursors: Float64Array;
  private readonly headAt: number;
  private readonly tailAt: number;
  /** Open addressing, linear probing: ring index + 1, 0 = empty. */
  private index: Int32Array;
  private mask: number;

  constructor(hash: Int32Array, num: Float64Array, stride: number, slots: number, cursors: Float64Array, headAt: number, tailAt: number) {
    this.hash = hash;
    this.num = num;
    this.stride = stride;
    this.slots = slots;
    this.cursors = cursors;
    this.headAt = headAt;
    this.tailAt = tailAt;
    let size = 16;
    while (size < slots * 2) size *= 2;
    this.index = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Entries in the ring. */
  get count(): number {
    return this.cursors[this.tailAt] - this.cursors[this.headAt];
  }

  /** Ring index of the newest entry with identity (h0, h1), or -1. */
  find(h0: number, h1: number): number {
    const idx = this.index;
    const hash = this.hash;
    const st = this.stride;
    for (let i = this.bucket(h0, h1); ; i = (i + 1) & this.mask) {
      const v = idx[i];
      if (v === 0) return -1;
      const e = v - 1;
      if (hash[e * st] === h0 && hash[e * st + 1] === h1) return e;
    }
  }

  /** Hash word `w` of entry `e`. */
  hashAt(e: number, w: number): number {
    return this.hash[e * this.stride + w];
  }

  /** Number `n` (0 or 1) of entry `e`. */
  numAt(e: number, n: number): number {
    return this.num[e * 2 + n];
  }

  /**
   * Appends an entry with `stride` hash words from `h` and numbers a, b;
   * returns its ring index. A physically full ring drops its oldest entry
   * first (only if a drain outgrew its slack; never in the sizes we compute).
   */
  append(h: Int32Array, a: number, b: number): number {
    if (this.count >= this.slots) this.popOldest();
    const tail = this.cursors[this.tailAt];
    const e = tail % this.slots;
    const st = this.stride;
    for (let w = 0; w < st; w++) this.hash[e * st + w] = h[w];
    this.num[e * 2] = a;
    this.num[e * 2 + 1] = b;
    this.cursors[this.tailAt] = tail + 1;
    this.indexSet(e);
    return e;
  }

  /** Pops the oldest entries until at most `bound` remain. */
  trim(bound: number): void {
    while (this.count > bound) this.popOldest();
  }

  /** Removes the newest entries while `drop(entry)` says so (a tentative suffix after a crash). */
  dropNewest(drop: (e: number) => boolean): void {
    while (this.count > 0) {
      const e = (this.cursors[this.tailAt] - 1) % this.slots;
      if (!drop(e)) break;
      this.cursors[this.tailAt] -= 1;
    }
  }

  /**
   * Removes every entry `keep` refuses, wherever it is, keeping the order of
   * the others (a crashed drain's tentative entries can sit between entries
   * that must stay: versions of keys it evicted). Rebuild the index after.
   */
  compact(keep: (e: number) => boolean): void {
    const head = this.cursors[this.headAt];
    const tail = this.cursors[this.tailAt];
    const st = this.stride;
    let to = head;
    for (let c = head; c < tail; c++) {
      const e = c % this.slots;
      if (!keep(e)) continue;
      const d = to % this.slots;
      if (d !== e) {
        for (let w = 0; w < st; w++) this.hash[d * st + w] = this.hash[e * st + w];
        this.num[d * 2] = this.num[e * 2];
        this.num[d * 2 + 1] = this.num[e * 2 + 1];
      }
      to++;
    }
    this.cursors[this.tailAt] = to;
  }

  /** Rebuilds the index from the ring, oldest first, keeping entries `keep` accepts. */
  rebuild(keep: (e: number) => boolean): void {
    this.index.fill(0);
    const head = this.cursors[this.headAt];
    const tail = this.cursors[this.tailAt];
    for (let c = head; c < tail; c++) {
      const e = c % this.slots;
      if (keep(e)) this.indexSet(e);
    }
  }

  private popOldest(): void {
    const head = this.cursors[this.headAt];
    const e = head % this.slots;
    this.indexDelete(e);
    this.cursors[this.headAt] = head + 1;
  }

  private bucket(h0: number, h1: number): number {
    return (h0 ^ Math.imul(h1, 0x9e3779b1)) & this.mask;
  }

  /** Points the index at entry e for its identity (replacing an older entry of it). */
  private indexSet(e: number): void {
    const idx = this.index;
    const hash = this.hash;
    const st = this.stride;
    const h0 = hash[e * st];
    const h1 = hash[e * st + 1];
    for (let i = this.bucket(h0, h1); ; i = (i + 1) & this.mask) {
      const v = idx[i];
      if (v === 0 || (hash[(v - 1) * st] === h0 && hash[(v - 1) * st + 1] === h1)) {
        idx[i] = e + 1;
        return;
      }
    }
  }

  /** Removes entry e from the index if the index names it (backward-shift deletion). */
  private indexDelete(e: number): void {
    const idx = this.index;
    const hash = this.hash;
    const st = this.stride;
    const mask = this.mask;
    let i = this.bucket(hash[e * st], hash[e * st + 1]);
    for (;; i = (i + 1) & mask) {
      const v = idx[i];
      if (v === 0) return;
      if (v === e + 1) break;
    }
    // Shift later entries of the probe run back over the hole.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const v = idx[j];
      if (v === 0) break;
      const home = this.bucket(hash[(v - 1) * st], hash[(v - 1) * st + 1]);
      // Move v into the hole if its home is not in (hole, j] (cyclically).
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        idx[hole] = v;
        hole = j;
      }
    }
    idx[hole] = 0;
  }
}
