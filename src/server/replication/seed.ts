/**
 * Where a daemon's ring store starts from its log: the log's first message
 * when the log still holds it, else the newest shared checkpoint, loaded into
 * the empty store, when it covers every message retention dropped. With
 * neither, the daemon refuses to start (`RS_ERR_REPLICATION_GAP`): rebuilt
 * from what remains, its positions, versions, conflicts and duplicates would
 * differ from the other daemons'.
 */
import type { Logger } from 'pino';
import type { EventStore } from '../../store/event-store.js';
import { HttpError } from '../errors.js';
import { ChunkMissing, type SharedCheckpoints } from './shared-checkpoints.js';

/** What {@link seedStore} needs to know about the log. */
export interface SeedOptions<R> {
  readonly checkpoints: SharedCheckpoints;
  readonly store: EventStore<R>;
  /** The JetStream stream (for messages). */
  readonly stream: string;
  /** Messages up to this sequence are gone (0: the log holds its first message). */
  readonly dropped: number;
  /** The log's last sequence. */
  readonly last: number;
  readonly sizing: string;
  readonly logCreated: string;
  readonly logger: Logger;
}

/** Where applying starts, and the newest checkpoint of this log (both sequences; 0: none). */
export interface Seeded {
  readonly after: number;
  readonly newest: number;
  /** The recent message ids at `after` (the loaded checkpoint's; none when replaying from the start). */
  readonly recent?: readonly string[];
}

/**
 * Loads the newest checkpoint when one fits this log (always when retention
 * dropped messages, to start from it; otherwise too, to replay less).
 * @throws HttpError `RS_ERR_REPLICATION_GAP` when messages were dropped and no readable checkpoint covers them
 */
export async function seedStore<R>(o: SeedOptions<R>): Promise<Seeded> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await seedOnce(o, attempt >= READ_ATTEMPTS);
    } catch (err) {
      // A newer checkpoint purged the chunks of the one being read: that newer one is there to load.
      if (!(err instanceof CheckpointGone)) throw err;
      o.logger.info({ stream: o.stream, err: err.message }, 'replication: the checkpoint being read was replaced; reading the newest one');
    }
  }
}

/** Reads of the newest checkpoint tried while each finds its chunks purged by a newer one. */
const READ_ATTEMPTS = 3;

/** The checkpoint being read had its chunks purged: read the newest again. */
class CheckpointGone extends Error {}

async function seedOnce<R>(o: SeedOptions<R>, lastAttempt: boolean): Promise<Seeded> {
  const latest = await o.checkpoints.latest();
  const m = latest?.manifest ?? undefined;
  // A checkpoint newer than the log's last message seen at start was stored since: applying resumes after it.
  const fits = m !== undefined && m.logCreated === o.logCreated && m.sizing === o.sizing;
  if (m !== undefined && !fits) o.logger.warn({ stream: o.stream, checkpoint: m.id }, 'replication: ignored a checkpoint made for another log (deleted and made again, or another sizing)');
  const gap = (why: string): HttpError =>
    new HttpError('RS_ERR_REPLICATION_GAP', `the ring-store log ${o.stream} no longer holds its messages 1..${o.dropped} (retention) and ${why}: rebuilt from the rest, this daemon's positions, versions, conflicts and duplicates would differ from the other daemons'. Start it again once a running daemon stored a newer checkpoint, or give the daemons a larger --capacity / smaller --nats-checkpoint-every`, {
      stream: o.stream, firstRetainedSeq: o.dropped + 1, checkpointSeq: fits ? m.seq : null,
    });
  if (!fits || m.seq === 0 || m.seq < o.dropped) {
    if (o.dropped > 0) throw gap(fits ? `the newest checkpoint covers only messages up to ${m.seq}` : 'no checkpoint of it was stored');
    return { after: 0, newest: fits ? m.seq : 0 };
  }
  let images: Uint8Array[];
  const t0 = performance.now();
  try {
    images = await o.checkpoints.read(m);
  } catch (err) {
    if (err instanceof ChunkMissing && !lastAttempt) throw new CheckpointGone(err.message);
    if (o.dropped > 0) throw gap(`its newest checkpoint cannot be read (${(err as Error).message})`);
    o.logger.warn({ stream: o.stream, err: (err as Error).message }, 'replication: could not read the newest checkpoint; replaying the whole log');
    return { after: 0, newest: m.seq };
  }
  try {
    // Every image is checked before any loads: a refused import leaves the store empty.
    await o.store.importImages(images, { transfer: true });
  } catch (err) {
    if (o.dropped > 0) throw gap(`its newest checkpoint does not load into this daemon's store (${(err as Error).message})`);
    o.logger.warn({ stream: o.stream, err: (err as Error).message }, 'replication: could not load the newest checkpoint; replaying the whole log');
    return { after: 0, newest: m.seq };
  }
  o.logger.info({ stream: o.stream, seq: m.seq, bytes: m.bytes, ms: Math.round(performance.now() - t0) }, 'replication: loaded a checkpoint; applying the log after it');
  return { after: m.seq, newest: m.seq, recent: m.recent };
}
