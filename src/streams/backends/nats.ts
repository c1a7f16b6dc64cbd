/**
 * {@link KeyValueBackend} on NATS JetStream: durable, replicated (R3 streams),
 * shared by any number of processes and machines.
 *
 * Keys are grouped in *shards*: a key's first `shardDepth` folder levels
 * (default 3: `database/name/id`, one versioned stream). Each shard is one
 * JetStream subject, and each committed batch one message on it (a chain of
 * parts when larger than a message), published on condition that the
 * subject's last sequence is the one this process's copy of the shard was
 * built from. So a batch is atomic and serialised against every other write
 * to its shard, from any process: the lease fence, the head compare-and-set,
 * the event chunk and the idempotency records of an append commit together or
 * not at all, and a session that lost its lease cannot write even before it
 * notices (the taker-over's lease write moved the subject on). A batch must
 * stay within one shard.
 *
 * Each process keeps the shards it touches in memory (`nats-shard.ts`),
 * caught up from the subject before every read and after a lost race
 * (`nats-log.ts`). See `docs/jetstream.md` for the design and its trade-offs.
 */
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { KeyValueBackend, KvAddOptions, KvBatchOp, KvBatchResult, KvEntry, KvListOptions, KvListed, KvRemoveOptions, KvSetOptions } from '../backend.js';
import type { Clock } from '../clock.js';
import { InvalidStreamArgumentError, KvConcurrencyError, KvDuplicateKeyError, KvKeyNotFoundError, ProviderClosedError } from '../errors.js';
import type { ShardLog } from './nats-log.js';
import type { NatsBackendOptions } from './nats-options.js';
import { settings, setUp, shardSubject } from './nats-setup.js';
import { ShardState, type BatchPlan, type ShardRecord } from './nats-shard.js';
import { checkFolder, checkKey, checkOps, checkRemoveOptions, checkWriteOptions } from './validate.js';

export type { NatsBackendOptions, NatsConnectionLike } from './nats-options.js';

/** One cached shard and its operation queue. */
interface ShardSlot {
  readonly state: ShardState;
  tail: Promise<unknown> | undefined;
}

/** Attempts of a batch that keeps losing races before it gives up. */
const MAX_ATTEMPTS = 100;

function isPrecondition(err: unknown): boolean {
  return err instanceof KvDuplicateKeyError || err instanceof KvKeyNotFoundError || err instanceof KvConcurrencyError;
}

/** The NATS JetStream backend. Durable (file storage) and multi-process. */
export class NatsBackend implements KeyValueBackend {
  /** `"nats"`. */
  readonly kind = 'nats';
  /** The JetStream stream in use. */
  readonly stream: string;
  /** The subject prefix of the shards. */
  readonly subjectPrefix: string;
  /** Multi-process; durable when the stream has file storage (set from the stream found once {@link NatsBackend.ready}). */
  capabilities: Readonly<{ durable: boolean; multiProcess: boolean }>;
  readonly #setup: Promise<{ nc: NatsConnection; log: ShardLog; durable: boolean }>;
  readonly #ownsConnection: boolean;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #depth: number;
  readonly #maxShards: number;
  readonly #slots = new Map<string, ShardSlot>();
  #closed = false;

  /**
   * Checks the options and starts connecting; operations wait for the
   * connection and the stream check, and fail with their error if that fails
   * ({@link NatsBackend.ready} reports it directly).
   * @throws InvalidStreamOptionError on bad options
   */
  constructor(options: NatsBackendOptions) {
    const s = settings(options);
    this.stream = s.stream;
    this.subjectPrefix = s.prefix;
    this.#clock = s.clock;
    this.#logger = s.logger;
    this.#depth = s.depth;
    this.#maxShards = s.maxShards;
    this.#ownsConnection = s.connection === undefined;
    this.capabilities = Object.freeze({ durable: s.storage === 'file', multiProcess: true });
    this.#setup = setUp(s);
    // The stream found may differ from the one the options would create.
    // A failure is reported by ready() and by every operation, not as an unhandled rejection.
    this.#setup.then((r) => (this.capabilities = Object.freeze({ durable: r.durable, multiProcess: true })), () => undefined);
  }

  /**
   * Creates a backend and waits until it is ready.
   * @throws InvalidStreamOptionError on bad options, a server older than 2.9, or a stream that could drop messages;
   *   the connection's error when no server answers
   */
  static async connect(options: NatsBackendOptions): Promise<NatsBackend> {
    const b = new NatsBackend(options);
    try {
      await b.ready();
    } catch (err) {
      await b.close().catch(() => undefined);
      throw err;
    }
    return b;
  }

  /** Resolves once connected with the stream checked (or created); rejects with the setup failure. */
  async ready(): Promise<void> {
    await this.#setup;
  }

  #open(): void {
    if (this.#closed) throw new ProviderClosedError('the NATS key-value backend');
  }

  /** The shard of a folder (`""` or ending with `/`): its first `shardDepth` levels. */
  #shardOf(folder: string): string {
    if (folder.length === 0) return '';
    const segments = folder.slice(0, -1).split('/');
    return segments.length <= this.#depth ? segments.join('/') : segments.slice(0, this.#depth).join('/');
  }

  #shardOfKey(key: string): string {
    return this.#shardOf(key.slice(0, key.lastIndexOf('/') + 1));
  }

  /** Runs `fn` on the shard's state after the shard's earlier operations (one at a time per shard and process). */
  #run<T>(shard: string, fn: (state: ShardState, log: ShardLog) => Promise<T>): Promise<T> {
    let slot = this.#slots.get(shard);
    if (slot === undefined) {
      slot = { state: new ShardState(shard, shardSubject(this.subjectPrefix, shard)), tail: undefined };
      this.#slots.set(shard, slot);
      this.#evict();
    } else {
      // Most recently used last.
      this.#slots.delete(shard);
      this.#slots.set(shard, slot);
    }
    const s = slot;
    const run = async (): Promise<T> => {
      this.#open();
      const { log } = await this.#setup;
      return fn(s.state, log);
    };
    const p = s.tail === undefined ? run() : s.tail.then(run, run);
    s.tail = p;
    const settled = (): void => {
      if (s.tail === p) s.tail = undefined;
    };
    p.then(settled, settled);
    return p;
  }

  /** Drops the least recently used idle shards beyond `maxCachedShards` (they are replayed when used again). */
  #evict(): void {
    if (this.#slots.size <= this.#maxShards) return;
    for (const [shard, slot] of this.#slots) {
      if (this.#slots.size <= this.#maxShards) break;
      if (slot.tail === undefined) this.#slots.delete(shard);
    }
  }

  /**
   * Plans `ops` against the shard and publishes their writes, catching up and
   * planning again after a lost race. A failed precondition is reported only
   * once the shard is caught up (the copy may have been stale).
   */
  async #commit(state: ShardState, log: ShardLog, ops: readonly KvBatchOp[], indexed: boolean): Promise<KvBatchResult[]> {
    const batchId = randomUUID();
    // The plan of each attempt: an attempt that landed unbeknown to us answers with its own plan.
    const plans: BatchPlan[] = [];
    state.watch(batchId);
    try {
      let fresh = false;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        let plan: BatchPlan;
        try {
          plan = state.plan(ops, this.#clock.now(), indexed);
        } catch (err) {
          if (fresh || !isPrecondition(err)) throw err;
          await log.catchUp(state);
          fresh = true;
          continue;
        }
        if (plan.writes.length === 0) {
          // Nothing to publish: the answer must come from the current state.
          if (fresh) return ShardState.results(plan, state.seq);
          await log.catchUp(state);
          fresh = true;
          continue;
        }
        let body: Buffer;
        try {
          body = Buffer.from(JSON.stringify(plan.writes), 'utf8');
        } catch (err) {
          throw new InvalidStreamArgumentError(`NatsBackend values must be JSON-serialisable: ${(err as Error).message}`);
        }
        plans[attempt] = plan;
        const outcome = await log.commit(state, body, batchId, attempt);
        if (outcome !== 'conflict') return ShardState.results(plan, outcome.seq);
        await log.catchUp(state);
        // The subject moved on, maybe by this very batch: a publish retried after a lost answer
        // is refused when the server no longer knows its message id (see ShardState.watch).
        const landed = state.landed;
        if (landed !== undefined) {
          this.#logger.warn({ shard: state.shard, attempt: landed.a, seq: landed.seq }, 'nats: a publish whose answer was lost had landed; its retry was refused, the batch stands');
          return ShardState.results(plans[landed.a]!, landed.seq);
        }
        fresh = true;
      }
      throw new Error(`nats: batch on shard "${state.shard}" lost ${MAX_ATTEMPTS} races in a row`);
    } finally {
      state.watch(undefined);
    }
  }

  /** Reads from the shard of `key` once it is caught up. */
  #read<T>(shard: string, fn: (state: ShardState, now: number) => T): Promise<T> {
    return this.#run(shard, async (state, log) => {
      await log.catchUp(state);
      return fn(state, this.#clock.now());
    });
  }

  async add(key: string, value: unknown, options?: KvAddOptions): Promise<string> {
    this.#open();
    checkKey(key);
    checkWriteOptions(options, false);
    const ops: KvBatchOp[] = [{ op: 'add', key, value, ttlMs: options?.ttlMs }];
    return (await this.#run(this.#shardOfKey(key), (st, log) => this.#commit(st, log, ops, false)))[0] as string;
  }

  async set(key: string, value: unknown, options?: KvSetOptions): Promise<string> {
    this.#open();
    checkKey(key);
    checkWriteOptions(options, true);
    const ops: KvBatchOp[] = [{ op: 'set', key, value, etag: options?.etag, ttlMs: options?.ttlMs }];
    return (await this.#run(this.#shardOfKey(key), (st, log) => this.#commit(st, log, ops, false)))[0] as string;
  }

  async get<V = unknown>(key: string): Promise<KvEntry<V>> {
    const e = await this.tryGet<V>(key);
    if (e === undefined) throw new KvKeyNotFoundError(key);
    return e;
  }

  async tryGet<V = unknown>(key: string): Promise<KvEntry<V> | undefined> {
    this.#open();
    checkKey(key);
    const r = await this.#read(this.#shardOfKey(key), (st, now) => st.get(key, now));
    return r === undefined ? undefined : entry<V>(r);
  }

  async remove(key: string, options?: KvRemoveOptions): Promise<boolean> {
    this.#open();
    checkKey(key);
    checkRemoveOptions(options);
    const ops: KvBatchOp[] = [{ op: 'remove', key, etag: options?.etag }];
    try {
      return (await this.#run(this.#shardOfKey(key), (st, log) => this.#commit(st, log, ops, false)))[0] as boolean;
    } catch (err) {
      // As on the other backends: a conditional remove of an absent key is an etag mismatch.
      if (err instanceof KvKeyNotFoundError) throw new KvConcurrencyError(key, options!.etag!, null);
      throw err;
    }
  }

  async list<V = unknown>(folder: string, options?: KvListOptions): Promise<KvListed<V>[]> {
    this.#open();
    checkFolder(folder, options);
    const rows = await this.#read(this.#shardOf(folder), (st, now) => st.list(folder, options, now));
    return rows.map(({ key, rec }) => ({ key, ...entry<V>(rec) }));
  }

  /**
   * Applies the operations atomically. All keys must be in one shard.
   * @throws InvalidStreamArgumentError when they are not
   */
  async batch(ops: readonly KvBatchOp[]): Promise<KvBatchResult[]> {
    this.#open();
    checkOps(ops);
    if (ops.length === 0) return [];
    const shard = this.#shardOfKey(ops[0]!.key);
    for (const op of ops) {
      if (this.#shardOfKey(op.key) !== shard) {
        throw new InvalidStreamArgumentError(`NatsBackend batch: every key must be in one shard (first ${this.#depth} folder levels); "${op.key}" is not in "${shard}"`, { shard, key: op.key });
      }
    }
    return this.#run(shard, (st, log) => this.#commit(st, log, ops, true));
  }

  /** Waits for pending operations, then closes the connection if this backend opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#slots.values()].map((s) => s.tail));
    this.#slots.clear();
    const setup = await this.#setup.catch(() => undefined);
    if (this.#ownsConnection) await setup?.nc.close();
  }
}

function entry<V>(r: ShardRecord): KvEntry<V> {
  return r.expiresAt === undefined ? { value: r.value as V, etag: r.etag } : { value: r.value as V, etag: r.etag, expiresAt: r.expiresAt };
}
