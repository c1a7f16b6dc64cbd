/**
 * The state machine of one shard of the {@link NatsBackend}: the key-value
 * records of one shard (by default one stream: `database/name/id`), rebuilt by
 * applying the shard's JetStream messages in subject order.
 *
 * A message records the *writes* of one committed batch (puts and deletes),
 * never its operations: preconditions (etags, TTLs) are checked once, by the
 * writer, against this state, and the message is published conditionally on
 * the subject's last sequence. Applying writes needs no clock, so every
 * process that replays a shard builds exactly the same records and etags.
 *
 * A batch too large for one message is split into parts, each conditional on
 * the previous one; the state applies it when its last part arrives, and any
 * other message discards an unfinished batch (its writer lost a race or died).
 */
import { splitKey, type KvBatchOp, type KvBatchResult, type KvListOptions } from '../backend.js';
import { KvConcurrencyError, KvDuplicateKeyError, KvKeyNotFoundError } from '../errors.js';
import { deepFreeze } from '../json.js';
import { ExpiryQueue } from './expiry-queue.js';
import { lowerBound } from './memory-folder.js';

/** A stored record. `etag` is `<stream seq of the commit>.<index of the write in the batch>`. */
export interface ShardRecord {
  readonly value: unknown;
  readonly etag: string;
  /** Epoch ms of the writer's clock, when written with a TTL. */
  readonly expiresAt?: number;
}

/** One write of a batch: `[key]` deletes, `[key, value]` puts, `[key, value, expiresAt]` puts with an expiry. */
export type ShardWrite = readonly [key: string] | readonly [key: string, value: unknown] | readonly [key: string, value: unknown, expiresAt: number];

/** The header of a shard message (first line of its payload). */
export interface MessageHeader {
  /** The shard. */
  readonly s: string;
  /** Number of messages on the subject, this one included (a hint of how far behind a reader is). */
  readonly n: number;
  /** Batch id. */
  readonly b: string;
  /** Attempt number of the batch (each attempt publishes with new message ids). */
  readonly a: number;
  /** Index of this part. */
  readonly i: number;
  /** Number of parts of the batch. */
  readonly k: number;
}

/** Result of planning a batch: the writes to publish and, per operation, its result (a number: the index of the write whose etag it returns). */
export interface BatchPlan {
  readonly writes: ShardWrite[];
  readonly results: (number | boolean)[];
}

/** What the state knows of a key while a batch is planned: a record, absent, or written earlier in the batch. */
type Seen = ShardRecord | null | typeof PENDING;
const PENDING: unique symbol = Symbol('written by this batch');

/** The records of one folder of a shard. */
class Folder {
  readonly recs = new Map<string, ShardRecord>();
  /** Leaves in order; undefined when it must be rebuilt (after an out-of-order insert or a delete). */
  sorted: string[] | undefined = [];

  put(leaf: string, rec: ShardRecord): void {
    const had = this.recs.has(leaf);
    this.recs.set(leaf, rec);
    if (had || this.sorted === undefined) return;
    const s = this.sorted;
    // Events and ids are written in order: appending keeps the order without sorting.
    if (s.length === 0 || s[s.length - 1]! < leaf) s.push(leaf);
    else this.sorted = undefined;
  }

  delete(leaf: string): void {
    if (this.recs.delete(leaf)) this.sorted = undefined;
  }

  leaves(): string[] {
    this.sorted ??= [...this.recs.keys()].sort();
    return this.sorted;
  }
}

/** The unfinished multi-part batch being received. */
interface PendingBatch {
  readonly b: string;
  readonly a: number;
  readonly k: number;
  readonly parts: Uint8Array[];
}

/** Where a watched batch was committed: its attempt and stream sequence. */
export interface Landed {
  readonly a: number;
  readonly seq: number;
}

/** What {@link ShardState.apply} did with a message. */
export type Applied = 'committed' | 'part' | 'skipped';

/** The records of one shard, as of stream sequence {@link ShardState.seq}. */
export class ShardState {
  /** The shard. */
  readonly shard: string;
  /** The JetStream subject of the shard. */
  readonly subject: string;
  /** Stream sequence of the last message applied (0: none). */
  seq = 0;
  /** Messages applied (skipped ones included): the `n` of the last one. */
  count = 0;
  readonly #folders = new Map<string, Folder>();
  /** Records committed with a TTL, by expiry (folder name, leaf, etag): {@link ShardState.prune} drops them. */
  readonly #expiries = new ExpiryQueue<string, string>();
  #pending: PendingBatch | undefined;
  #watched: string | undefined;
  #landed: Landed | undefined;

  constructor(shard: string, subject: string) {
    this.shard = shard;
    this.subject = subject;
  }

  /**
   * Watches for batch `b` (undefined: none): once a message of it is
   * committed by {@link ShardState.apply}, {@link ShardState.landed} tells
   * where. The writer needs it when a publish whose outcome it never learnt
   * (a timeout, a killed leader) did land, and the retry was refused because
   * the subject moved on: the dedup record of the message id can be missing
   * on a new stream leader, or gone past the duplicate window.
   */
  watch(b: string | undefined): void {
    this.#watched = b;
    this.#landed = undefined;
  }

  /** Where the watched batch was committed, if it was since {@link ShardState.watch}. */
  get landed(): Landed | undefined {
    return this.#landed;
  }

  /** Records held, expired ones not pruned yet included. */
  get size(): number {
    let n = 0;
    for (const f of this.#folders.values()) n += f.recs.size;
    return n;
  }

  /**
   * Drops from this copy of the shard every record whose TTL ran out at `now` and that was not written again
   * since, and the folders that leaves empty. Local and invisible: such a record already reads as absent at
   * `now` and later (to {@link get}, {@link list} and {@link plan}), and every process prunes its own copy.
   * Called by each {@link plan}, so a process's memory follows the records alive, not every key it ever saw
   * written with a TTL (before 2026-12-06 they stayed until written again: test/long-uptime/ttl.test.ts).
   */
  prune(now: number): void {
    for (let e = this.#expiries.popExpired(now); e !== undefined; e = this.#expiries.popExpired(now)) {
      const f = this.#folders.get(e.folder);
      const r = f?.recs.get(e.leaf);
      if (r === undefined || r.etag !== e.etag || r.expiresAt === undefined || r.expiresAt > now) continue;
      f!.delete(e.leaf);
      if (f!.recs.size === 0) this.#folders.delete(e.folder);
    }
  }

  /** The record at `key` if present and live at `now`. */
  get(key: string, now: number): ShardRecord | undefined {
    const [folder, leaf] = splitKey(key);
    const r = this.#folders.get(folder)?.recs.get(leaf);
    return r === undefined || (r.expiresAt !== undefined && r.expiresAt <= now) ? undefined : r;
  }

  /** Live records of `folder` in leaf order, within the inclusive range and limit. */
  list(folder: string, options: KvListOptions | undefined, now: number): { key: string; rec: ShardRecord }[] {
    const out: { key: string; rec: ShardRecord }[] = [];
    const limit = options?.limit ?? Infinity;
    const f = this.#folders.get(folder);
    if (f === undefined || limit === 0) return out;
    const leaves = f.leaves();
    const end = options?.end;
    for (let i = options?.start === undefined ? 0 : lowerBound(leaves, options.start); i < leaves.length; i++) {
      const leaf = leaves[i]!;
      if (end !== undefined && leaf > end) break;
      const rec = f.recs.get(leaf)!;
      if (rec.expiresAt !== undefined && rec.expiresAt <= now) continue;
      out.push({ key: folder + leaf, rec });
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Checks `ops` in order against this state at time `now` (each seeing the
   * effects of the ones before it) and returns the writes they make.
   * @throws KvDuplicateKeyError, KvKeyNotFoundError, KvConcurrencyError (with `opIndex` when `indexed`: a batch)
   */
  plan(ops: readonly KvBatchOp[], now: number, indexed: boolean): BatchPlan {
    this.prune(now);
    const overlay = new Map<string, Seen>();
    const seen = (key: string): Seen => (overlay.has(key) ? overlay.get(key)! : (this.get(key, now) ?? null));
    const etagOf = (s: Seen): string | null => (s === null ? null : s === PENDING ? '(written by this batch)' : s.etag);
    const writes: ShardWrite[] = [];
    const results: (number | boolean)[] = new Array<number | boolean>(ops.length);
    for (let n = 0; n < ops.length; n++) {
      const op = ops[n]!;
      const i = indexed ? n : undefined;
      const cur = seen(op.key);
      switch (op.op) {
        case 'add':
        case 'set': {
          if (op.op === 'add' && cur !== null) throw new KvDuplicateKeyError(op.key, i);
          if (op.op === 'set' && op.etag !== undefined && (cur === PENDING || etagOf(cur) !== op.etag)) throw new KvConcurrencyError(op.key, op.etag, etagOf(cur), i);
          results[n] = writes.length;
          writes.push(op.ttlMs === undefined ? [op.key, op.value] : [op.key, op.value, now + op.ttlMs]);
          overlay.set(op.key, PENDING);
          break;
        }
        case 'remove': {
          if (op.etag !== undefined && cur === null) throw new KvKeyNotFoundError(op.key, i);
          if (op.etag !== undefined && (cur === PENDING || etagOf(cur) !== op.etag)) throw new KvConcurrencyError(op.key, op.etag, etagOf(cur), i);
          results[n] = cur !== null;
          if (cur !== null) {
            writes.push([op.key]);
            overlay.set(op.key, null);
          }
          break;
        }
        case 'check': {
          if (cur === PENDING || etagOf(cur) !== op.etag) throw new KvConcurrencyError(op.key, op.etag, etagOf(cur), i);
          results[n] = true;
          break;
        }
      }
    }
    return { writes, results };
  }

  /** The batch results of a plan committed at stream sequence `seq`. */
  static results(plan: BatchPlan, seq: number): KvBatchResult[] {
    return plan.results.map((r) => (typeof r === 'number' ? `${seq}.${r}` : r));
  }

  /**
   * Applies the message at stream sequence `seq` (header `h`, body bytes).
   * `prev` is the subject sequence it was published conditionally on, as the
   * server stored it (the `Nats-Expected-Last-Subject-Sequence` header, which
   * the server enforced, so it cannot lie). A message that does not follow
   * the last one applied (published without that condition, i.e. not by a
   * NatsBackend) or cannot be decoded is skipped; so is an out-of-place part.
   * Skipping is deterministic, so every replay agrees.
   * @returns what was done; `'committed'` when a batch took effect.
   */
  apply(h: MessageHeader | undefined, prev: number | undefined, body: Uint8Array, seq: number): Applied {
    const follows = h !== undefined && prev === this.seq && h.s === this.shard;
    this.seq = seq;
    this.count++;
    if (!follows) {
      this.#pending = undefined;
      return 'skipped';
    }
    if (h.k === 1) {
      this.#pending = undefined;
      return this.#committed(h, this.#commit(body, seq), seq);
    }
    const p = this.#pending;
    if (h.i === 0) {
      this.#pending = { b: h.b, a: h.a, k: h.k, parts: [body] };
      return 'part';
    }
    if (p === undefined || p.b !== h.b || p.a !== h.a || p.k !== h.k || p.parts.length !== h.i) {
      this.#pending = undefined;
      return 'skipped';
    }
    p.parts.push(body);
    if (p.parts.length < p.k) return 'part';
    this.#pending = undefined;
    return this.#committed(h, this.#commit(Buffer.concat(p.parts), seq), seq);
  }

  #committed(h: MessageHeader, r: Applied, seq: number): Applied {
    if (r === 'committed' && h.b === this.#watched) this.#landed = { a: h.a, seq };
    return r;
  }

  #commit(body: Uint8Array, seq: number): Applied {
    let writes: ShardWrite[];
    try {
      writes = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as ShardWrite[];
      if (!Array.isArray(writes)) return 'skipped';
    } catch {
      return 'skipped';
    }
    for (let j = 0; j < writes.length; j++) {
      const w = writes[j]!;
      const [folder, leaf] = splitKey(w[0]);
      if (w.length === 1) {
        this.#folders.get(folder)?.delete(leaf);
        continue;
      }
      let f = this.#folders.get(folder);
      if (f === undefined) this.#folders.set(folder, (f = new Folder()));
      const etag = `${seq}.${j}`;
      f.put(leaf, w.length === 3 ? { value: deepFreeze(w[1]), etag, expiresAt: w[2] } : { value: deepFreeze(w[1]), etag });
      if (w.length === 3) this.#expiries.push(w[2], folder, leaf, etag);
    }
    return 'committed';
  }
}
