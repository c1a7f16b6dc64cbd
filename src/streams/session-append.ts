/**
 * The append batch of a {@link StreamSession}: version checks, the atomic
 * batch (lease fence, head compare-and-set, event records, idempotency index)
 * and publishing committed events to the live view.
 */
import type { Logger } from 'pino';
import type { KvBatchOp } from './backend.js';
import type { PreparedEvent, StreamEvent } from './envelope.js';
import type { LiveSink } from './live.js';
import { idemKey } from './session-reads.js';
import { padVersion, type StreamId, type StreamKeys } from './stream-id.js';

/** Options of `StreamSession.append`. */
export interface AppendOptions {
  /** The version the stream must be at before this append (0 = empty stream). */
  expectedVersion?: number;
}

/** Index of the first event whose own `expectedVersion` is not the version it would get at head `v`, or -1. */
export function eventVersionMismatch(prepared: readonly PreparedEvent[], v: number): number {
  for (let i = 0; i < prepared.length; i++) {
    const ev = prepared[i]!.expectedVersion;
    if (ev !== undefined && ev !== v + 1 + i) return i;
  }
  return -1;
}

/**
 * The batch appending `prepared` at head `v` (etag `headEtag`): `[fence, head set,
 * event 1, index 1, event 2, index 2, ...]`; event k's frozen envelope is `ops[2 + 2k].value`.
 *
 * Event keys need no create-only check: the head compare-and-set in the same
 * batch proves versions v+1..v+n are free. A generated id is a fresh monotonic
 * ULID (80 random bits per millisecond and process), so only ids given by the
 * caller are create-only in the idempotency index.
 */
export function appendBatch(keys: StreamKeys, fence: KvBatchOp, v: number, headEtag: string | null, prepared: readonly PreparedEvent[]): KvBatchOp[] {
  const n = prepared.length;
  const ops: KvBatchOp[] = new Array(2 + 2 * n);
  ops[0] = fence;
  ops[1] = { op: 'set', key: keys.head, value: { version: v + n }, etag: headEtag };
  for (let i = 0; i < n; i++) {
    const p = prepared[i]!;
    const version = v + 1 + i;
    const env: StreamEvent = Object.freeze({ id: p.id, type: p.type, data: p.data, metadata: p.metadata, version });
    ops[2 + 2 * i] = { op: 'set', key: keys.events + padVersion(version), value: env };
    ops[3 + 2 * i] = { op: p.generated ? 'set' : 'add', key: idemKey(keys, p.id, p.generated), value: version };
  }
  return ops;
}

/**
 * Publishes the `n` events of a committed {@link appendBatch} to the live view,
 * in version order. Best effort: a failure is logged, the commit stands.
 */
export async function publishCommitted(sink: LiveSink, streamId: StreamId, ops: readonly KvBatchOp[], n: number, log: Logger): Promise<void> {
  const stream = `${streamId.name}/${streamId.id}`;
  for (let i = 0; i < n; i++) {
    const e = (ops[2 + 2 * i] as { value: StreamEvent }).value;
    try {
      await sink.append({ stream, database: streamId.database, id: e.id, type: e.type, version: e.version, data: e.data, metadata: e.metadata });
    } catch (err) {
      // The stream commit stands; the live view is best effort and says so.
      log.error({ err, version: e.version }, 'live view publish failed');
    }
  }
}
