/**
 * Shared checkpoints of the replicated ring stores, kept in one JetStream
 * stream (`RINGSTORE_RING_CHECKPOINTS`, subjects `ringstore.ring-ckpt.>`).
 * A checkpoint is the images of every partition of one ring store
 * (EventStore.exportImages: what a durable checkpoint holds) taken when the
 * store held exactly the log's messages up to a sequence; a daemon whose log
 * lost its first messages to retention loads one and applies the log after it.
 *
 * Per ring store `<name>`:
 * - `ringstore.ring-ckpt.<name>.d.<id>`: the images, gzip-compressed and
 *   cut into messages below the server's `max_payload`;
 * - `ringstore.ring-ckpt.<name>.m`: the manifest (JSON), published only once
 *   every chunk is stored, and on condition that no other manifest came since
 *   the one its writer read: daemons racing for one round store one;
 * - `ringstore.ring-ckpt.<name>.claim`: which daemon writes checkpoints now
 *   (a lease judged by the clocks, compare-and-set by the subject's last
 *   sequence), so that the daemons do not all do the same work.
 *
 * After a manifest, chunks older than the previous checkpoint's are purged:
 * the stream holds two checkpoints per ring store (a reader of the older one
 * still finds it), plus chunks of a writer that lost a race until the next round.
 */
import { createHash, randomBytes } from 'node:crypto';
import { JetStreamApiError, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { unpackImages, type Packed } from './checkpoint-codec.js';
import { NO_MESSAGE, STREAM_NOT_FOUND, WRONG_LAST_SEQUENCE } from '../../streams/backends/jetstream-codes.js';

/** The JetStream stream of every ring store's checkpoints. */
export const CHECKPOINT_STREAM = 'RINGSTORE_RING_CHECKPOINTS';
const PREFIX = 'ringstore.ring-ckpt';
/** 2: manifests carry the recent message ids. */
const FORMAT = 2;
/** Room left in a chunk message for headers and the protocol line. */
const HEADER_ROOM = 1_024;

/** What a checkpoint's manifest says. */
export interface Manifest {
  readonly format: number;
  /** `streams` or `metrics`. */
  readonly store: string;
  /** The ring log's description (its sizing): the images only fit that sizing. */
  readonly sizing: string;
  /** The ring log's creation time: a log deleted and made again does not match its old checkpoints. */
  readonly logCreated: string;
  /** The store held exactly the log's messages up to this sequence. */
  readonly seq: number;
  readonly id: string;
  /** Stream sequences of the chunks, in order. */
  readonly chunks: readonly number[];
  /** Compressed bytes (all chunks). */
  readonly bytes: number;
  /** Bytes of each partition's image, uncompressed. */
  readonly sizes: readonly number[];
  /** SHA-256 of the compressed bytes, hex. */
  readonly sha256: string;
  readonly createdMs: number;
  /** The daemon that wrote it (its replication origin). */
  readonly by: string;
  /** The log's recent message ids at `seq`, oldest first (Applier.recentIds: duplicates skipped after it). */
  readonly recent: readonly string[];
}

/** The newest manifest and the sequence of its message. */
export interface Latest {
  /** null: one this version cannot read (another format): no checkpoint to load, but the next one must follow it. */
  readonly manifest: Manifest | null;
  readonly msgSeq: number;
}

function isManifest(v: unknown): v is Manifest {
  if (v === null || typeof v !== 'object') return false;
  const m = v as Record<string, unknown>;
  const ints = (x: unknown): boolean => Array.isArray(x) && x.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
  return m.format === FORMAT && typeof m.store === 'string' && typeof m.sizing === 'string' && typeof m.logCreated === 'string'
    && Number.isSafeInteger(m.seq) && (m.seq as number) >= 0 && typeof m.id === 'string' && /^[A-Za-z0-9_-]+$/.test(m.id)
    && ints(m.chunks) && (m.chunks as unknown[]).length > 0 && Number.isSafeInteger(m.bytes) && ints(m.sizes)
    && typeof m.sha256 === 'string' && typeof m.createdMs === 'number' && typeof m.by === 'string'
    && Array.isArray(m.recent) && m.recent.every((x) => typeof x === 'string');
}

/** A checkpoint's chunk is gone (purged by a newer checkpoint): read the newest one instead. */
export class ChunkMissing extends Error {}

/** Options of {@link SharedCheckpoints.open}. */
export interface SharedCheckpointsOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The ring store: `streams` or `metrics`. */
  readonly name: string;
  readonly replicas: number;
  readonly logger: Logger;
}

/** One ring store's checkpoints in JetStream; see the module comment. */
export class SharedCheckpoints {
  readonly #o: SharedCheckpointsOptions;
  readonly #manifest: string;
  readonly #claim: string;

  private constructor(o: SharedCheckpointsOptions) {
    this.#o = o;
    this.#manifest = `${PREFIX}.${o.name}.m`;
    this.#claim = `${PREFIX}.${o.name}.claim`;
  }

  /** Creates the checkpoint stream when missing (file storage, no limits: the writers purge). */
  static async open(o: SharedCheckpointsOptions): Promise<SharedCheckpoints> {
    try {
      await o.jsm.streams.info(CHECKPOINT_STREAM);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND)) throw err;
      await o.jsm.streams.add({
        name: CHECKPOINT_STREAM,
        description: 'ringstore: shared checkpoints of the ring stores (ringstore serve --nats)',
        subjects: [`${PREFIX}.>`],
        retention: 'limits',
        storage: 'file',
        num_replicas: o.replicas,
        discard: 'old',
      }).catch(async (addErr: unknown) => {
        // Another daemon (or the other ring store) created it at the same moment.
        await o.jsm.streams.info(CHECKPOINT_STREAM).catch(() => {
          throw addErr;
        });
      });
    }
    return new SharedCheckpoints(o);
  }

  /** Purges what `filter` says; a failure is only logged (the next checkpoint purges again). */
  async #purge(what: string, opts: { filter: string; keep?: number; seq?: number }): Promise<void> {
    try {
      await this.#o.jsm.streams.purge(CHECKPOINT_STREAM, opts);
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message, filter: opts.filter }, `replication: could not purge ${what}; the checkpoint stream holds more until the next checkpoint`);
    }
  }

  #chunkSubject(id: string): string {
    return `${PREFIX}.${this.#o.name}.d.${id}`;
  }

  async #last(subject: string): Promise<StoredMsg | null> {
    try {
      return await this.#o.jsm.streams.getMessage(CHECKPOINT_STREAM, { last_by_subj: subject });
    } catch (err) {
      // "No message found": the subject is empty.
      if (err instanceof JetStreamApiError && err.code === NO_MESSAGE) return null;
      throw err;
    }
  }

  /** The newest manifest (null: none; `manifest: null`: one this version cannot read, with its sequence for the next compare-and-set). */
  async latest(): Promise<Latest | null> {
    const m = await this.#last(this.#manifest);
    if (m === null) return null;
    let v: unknown;
    try {
      v = m.json();
    } catch {
      v = undefined;
    }
    if (!isManifest(v) || v.store !== this.#o.name) {
      this.#o.logger.warn({ seq: m.seq }, 'replication: the newest checkpoint manifest is not one this version reads; ignored');
      return { manifest: null, msgSeq: m.seq };
    }
    return { manifest: v, msgSeq: m.seq };
  }

  /**
   * Reads a checkpoint's images back, checked against the manifest (chunk
   * subjects, size, SHA-256).
   * @throws ChunkMissing when a chunk was purged (a newer checkpoint replaced it); Error when the bytes do not match or the stream cannot be reached
   */
  async read(m: Manifest): Promise<Uint8Array[]> {
    const subject = this.#chunkSubject(m.id);
    const parts: Uint8Array[] = [];
    for (const seq of m.chunks) {
      // Only "no message found" means purged: a timeout or an election is an error of its own.
      const msg = await this.#o.jsm.streams.getMessage(CHECKPOINT_STREAM, { seq }).catch((err: unknown) => {
        if (err instanceof JetStreamApiError && err.code === NO_MESSAGE) return null;
        throw err;
      });
      if (msg === null || msg.subject !== subject) throw new ChunkMissing(`checkpoint ${m.id}: chunk ${seq} is missing (purged by a newer checkpoint?)`);
      parts.push(msg.data);
    }
    const bytes = parts.reduce((n, x) => n + x.byteLength, 0);
    const hash = createHash('sha256');
    for (const x of parts) hash.update(x);
    if (bytes !== m.bytes || hash.digest('hex') !== m.sha256) throw new Error(`checkpoint ${m.id}: its chunks do not match the manifest`);
    let images: Uint8Array[];
    try {
      // One buffer per partition: each goes to its worker whole (EventStore.importImages).
      images = await unpackImages(parts, m.sizes);
    } catch (err) {
      throw new Error(`checkpoint ${m.id}: ${(err as Error).message}`);
    }
    return images;
  }

  /**
   * Takes or renews the writer's lease for `ttlMs`; false when another daemon
   * holds an unexpired one or won the compare-and-set.
   */
  async claim(by: string, ttlMs: number): Promise<boolean> {
    const last = await this.#last(this.#claim);
    if (last !== null) {
      try {
        const c = last.json<{ by?: unknown; until?: unknown }>();
        if (c.by !== by && typeof c.until === 'number' && c.until > Date.now()) return false;
      } catch {
        // Not a claim this version wrote: take it over.
      }
    }
    try {
      await this.#o.js.publish(this.#claim, JSON.stringify({ by, until: Date.now() + ttlMs }), { expect: { lastSubjectSequence: last?.seq ?? 0 } });
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) return false;
      throw err;
    }
    await this.#purge('older claims', { filter: this.#claim, keep: 1 });
    return true;
  }

  /**
   * Stores a checkpoint of `images` (packImages) covering log sequence `seq`, unless a
   * manifest newer than `previous` was stored meanwhile (resolves undefined
   * then, and removes its own chunks).
   */
  async publish(fields: { seq: number; sizing: string; logCreated: string; by: string; recent: readonly string[] }, images: Packed, previous: Latest | null): Promise<Manifest | undefined> {
    const { js, nc } = this.#o;
    const packed = images.data;
    const id = randomBytes(9).toString('base64url');
    const subject = this.#chunkSubject(id);
    const room = Math.max(4_096, (nc.info?.max_payload ?? 1_048_576) - HEADER_ROOM);
    const chunks: number[] = [];
    /** The manifest was sent: if its publish failed otherwise than by a lost compare-and-set, it may be stored. */
    let sent = false;
    try {
      for (let at = 0; at < packed.length || chunks.length === 0; at += room) chunks.push((await js.publish(subject, packed.subarray(at, at + room))).seq);
      const manifest: Manifest = {
        format: FORMAT, store: this.#o.name, ...fields, id, chunks, bytes: packed.length, sizes: images.sizes,
        sha256: images.sha256, createdMs: Date.now(),
      };
      try {
        sent = true;
        await js.publish(this.#manifest, JSON.stringify(manifest), { expect: { lastSubjectSequence: previous?.msgSeq ?? 0 } });
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) {
          await this.#purge('the chunks of a checkpoint that lost its race', { filter: subject });
          return undefined;
        }
        throw err;
      }
      // Keep the previous checkpoint (a daemon may be reading it) and everything newer.
      const keepFrom = previous?.manifest?.chunks[0] ?? chunks[0]!;
      await this.#purge('older checkpoints\' chunks', { filter: `${PREFIX}.${this.#o.name}.d.>`, seq: keepFrom });
      await this.#purge('older manifests', { filter: this.#manifest, keep: 2 });
      return manifest;
    } catch (err) {
      // A manifest whose outcome is unknown (a timeout) may be the newest now: its chunks stay. If it was
      // not stored, they are older than the next checkpoint's previous one, which purges them.
      if (chunks.length > 0 && !sent) await this.#purge('the chunks of a checkpoint that failed', { filter: subject });
      throw err;
    }
  }
}
