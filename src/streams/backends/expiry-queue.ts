/**
 * Records written with a TTL, by expiry time (a binary min-heap), so that
 * expired records are dropped even when nobody reads their key again: the
 * in-memory backend's, and each NATS shard's local copy (nats-shard.ts).
 * `F` names the record's folder, `E` is its etag's type. Before it (up to 2026-12-06) an expired
 * record was dropped only when its own key was read or written: a week of
 * writes with a TTL to keys named by the minute kept all 10,080 records
 * (test/long-uptime/ttl.test.ts). Entries are not removed when their record
 * is overwritten or removed: each names the record's etag, and a popped entry
 * whose record changed since is skipped. So the heap holds at most the TTL
 * writes of the last TTL span, plus those not popped yet.
 */
export interface ExpiryEntry<F, E = number> {
  expiresAt: number;
  folder: F;
  leaf: string;
  etag: E;
}

export class ExpiryQueue<F, E = number> {
  readonly #heap: ExpiryEntry<F, E>[] = [];

  get size(): number {
    return this.#heap.length;
  }

  /** Remembers that the record `etag` at `leaf` of `folder` expires at `expiresAt`. */
  push(expiresAt: number, folder: F, leaf: string, etag: E): void {
    const h = this.#heap;
    h.push({ expiresAt, folder, leaf, etag });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.expiresAt <= h[i]!.expiresAt) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  /** Removes and returns the entry that expires first if it expired at `now`, else undefined. */
  popExpired(now: number): ExpiryEntry<F, E> | undefined {
    const h = this.#heap;
    if (h.length === 0 || h[0]!.expiresAt > now) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.expiresAt < h[m]!.expiresAt) m = l;
        if (r < h.length && h[r]!.expiresAt < h[m]!.expiresAt) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.#heap.length = 0;
  }
}
