/**
 * The JetStream stream behind one replicated ring store: created when
 * missing, checked when present. Every daemon sharing it must size its ring
 * the same way (partitions, capacity, arena), because each one replays the
 * log through its own committer and positions, versions, conflicts and
 * evictions come out the same only from the same geometry: the sizing is
 * written into the stream's description and a daemon with another one is
 * refused at start.
 */
import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { RingstoreError } from '../../errors.js';
import { STREAM_NOT_FOUND } from '../../streams/backends/jetstream-codes.js';

/** Bumped when the message format or the description changes (2: the effective geometry). */
const FORMAT = 2;

/** What a ring store's stream must look like. */
export interface RingLogSpec {
  /** JetStream stream name, e.g. `RINGSTORE_RING_STREAMS`. */
  readonly stream: string;
  /** Its single subject, e.g. `ringstore.ring.streams`. */
  readonly subject: string;
  /** Total events the ring holds: the stream keeps at least as many messages (each holds one event or more). */
  readonly capacity: number;
  /**
   * The store's effective geometry (EventStore.geometry: partitions, capacity
   * and arena bytes per partition, max event bytes, dedup window, ...), as the
   * store resolved it: two requested sizings that round to different arenas
   * differ here.
   */
  readonly geometry: Readonly<Record<string, number | string>>;
  readonly replicas: number;
  readonly duplicateWindowMs: number;
}

/** The description that carries the sizing. */
function describe(spec: RingLogSpec): string {
  return `ringstore ring store ${JSON.stringify({ format: FORMAT, ...spec.geometry })}`;
}

/**
 * Finds or creates the stream: limits retention, `max_msgs` = the ring's
 * capacity, discard old (the oldest batches go first, as the ring evicts its
 * oldest events), file storage.
 * @throws RingstoreError `RS_ERR_INVALID_OPTION` when the stream exists with another sizing or other limits
 */
export async function ensureRingLog(jsm: JetStreamManager, spec: RingLogSpec): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(spec.stream);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND)) throw err;
    try {
      info = await jsm.streams.add({
        name: spec.stream,
        description: describe(spec),
        subjects: [spec.subject],
        retention: 'limits',
        storage: 'file',
        num_replicas: spec.replicas,
        duplicate_window: nanos(spec.duplicateWindowMs),
        max_msgs: spec.capacity,
        max_bytes: -1,
        max_age: 0,
        max_msgs_per_subject: -1,
        discard: 'old',
        // A message deleted from the middle would make replays differ.
        deny_delete: true,
      });
    } catch (addErr) {
      // Another daemon created it at the same moment: check what it made.
      info = await jsm.streams.info(spec.stream).catch(() => {
        throw addErr;
      });
    }
  }
  const c = info.config;
  const problems: string[] = [];
  if (c.description !== describe(spec)) problems.push(`it was made for another ring sizing (${c.description ?? 'no description'}; this daemon: ${describe(spec)})`);
  if (c.retention !== 'limits') problems.push(`retention ${c.retention}`);
  if (c.discard !== 'old') problems.push(`discard ${c.discard}`);
  if (!c.subjects?.includes(spec.subject)) problems.push(`it does not capture ${spec.subject}`);
  // Limits that drop messages sooner than the ring evicts events: daemons would lose messages they have not
  // applied, and the shared checkpoints (every capacity / 4 messages) would not cover what was dropped.
  if (c.max_msgs >= 0 && c.max_msgs < spec.capacity) problems.push(`max_msgs ${c.max_msgs} (below the capacity, ${spec.capacity})`);
  if ((c.max_age ?? 0) > 0) problems.push(`max_age ${c.max_age} ns`);
  if ((c.max_bytes ?? -1) >= 0) problems.push(`max_bytes ${c.max_bytes}`);
  if (problems.length > 0) {
    throw new RingstoreError('RS_ERR_INVALID_OPTION', `JetStream stream "${spec.stream}" does not fit this daemon: ${problems.join('; ')}. Every daemon on one JetStream needs the same --partitions, --capacity and --arena-bytes (the same effective sizes per partition).`, { stream: spec.stream });
  }
  return info;
}
