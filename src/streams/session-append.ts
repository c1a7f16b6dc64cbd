/**
 * The append batch of a {@link StreamSession}: version checks, the atomic
 * batch (lease fence, head compare-and-set, event records, idempotency index)
 * and publishing committed events to the live view.
 */
import type { Logger } from 'pino';
import type { KvBatchOp } from './backend.js';
import { metadataOf, type PreparedEvent, type PreparedWithId, type StreamEvent } from './envelope.js';
import { StoreVersionMismatchError } from './errors.js';
import type { LiveSink } from './live.js';
import { chunkEvents, idemKey, ULID_TIME_LEN, type ChunkValue } from './session-reads.js';
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

/** Throws StoreVersionMismatchError (logged) when the call's or an event's expected version does not match head `v`. */
export function checkVersions(prepared: readonly PreparedEvent[], expected: number | undefined, v: number, storeId: string, log: Logger): void {
  if (expected !== undefined && expected !== v) {
    log.warn({ expected, actual: v }, 'version mismatch');
    throw new StoreVersionMismatchError(storeId, expected, v);
  }
  const bad = eventVersionMismatch(prepared, v);
  if (bad >= 0) {
    const p = prepared[bad]!;
    log.warn({ expected: p.expectedVersion, actual: v + 1 + bad }, 'event version mismatch');
    throw new StoreVersionMismatchError(storeId, p.expectedVersion!, v + 1 + bad, p.id ?? `events[${bad}]`);
  }
}

/**
 * The batch appending `prepared` at head `v` (etag `headEtag`):
 * `[fence, head set, chunk, index records...]`.
 *
 * The events of one append are stored as ONE record, a chunk: the array of
 * their frozen envelopes (versions v+1..v+n), keyed by the stream's events
 * folder + the zero-padded version of its LAST event. Keying by the last
 * version lets a forward range read find the chunk holding any version: it is
 * the first chunk whose key is >= that version (see `session-reads.ts`).
 * The chunk needs no create-only check: the head compare-and-set in the same
 * batch proves versions v+1..v+n are free.
 *
 * Idempotency index: an id given by the caller is one create-only record
 * (`idem` folder, leaf = id, value = version). Generated ids (fresh monotonic
 * ULIDs, unique by construction) are indexed in bulk: one record per run of
 * ids sharing their ULID time part (in practice one per append), keyed
 * `<time part>.<version of the run's first id>` and holding the ids; the
 * version of an id is the leaf's version + its position. A lookup lists the
 * records of the id's millisecond (see `genLeafRange` in `session-reads.ts`). An append of n
 * generated ids therefore writes 4 records (fence check, head, chunk, id run)
 * instead of 2n + 2.
 *
 * A one-event append writes its chunk as the bare envelope (read as a
 * one-event chunk) and indexes its id, even a generated one, under its own
 * `idem` key: no arrays to build on the hot single-event path. Lookups read
 * the `idem` key first, then the generated-id records.
 */
export function appendBatch(keys: StreamKeys, fence: KvBatchOp, v: number, headEtag: string | null, prepared: readonly PreparedWithId[]): KvBatchOp[] {
  const n = prepared.length;
  if (n === 1) {
    // One event: the chunk is the bare envelope and the id, given or generated, has its own
    // index key (no array to build): the same records as one-event chunks and runs, cheaper.
    const p = prepared[0]!;
    const env: StreamEvent = Object.freeze({ id: p.id, type: p.type, data: p.data, metadata: metadataOf(p.id, p.metadata), version: v + 1 });
    return [
      fence,
      { op: 'set', key: keys.head, value: { version: v + 1 }, etag: headEtag },
      { op: 'set', key: keys.events + padVersion(v + 1), value: env },
      { op: p.generated ? 'set' : 'add', key: idemKey(keys, p.id, p.generated), value: v + 1 },
    ];
  }
  const ops: KvBatchOp[] = [fence, { op: 'set', key: keys.head, value: { version: v + n }, etag: headEtag }, undefined as unknown as KvBatchOp];
  const chunk: StreamEvent[] = new Array(n);
  let run: string[] | undefined;
  let runTime = '';
  for (let i = 0; i < n; i++) {
    const p = prepared[i]!;
    const version = v + 1 + i;
    chunk[i] = Object.freeze({ id: p.id, type: p.type, data: p.data, metadata: metadataOf(p.id, p.metadata), version });
    if (!p.generated) {
      run = undefined;
      ops.push({ op: 'add', key: idemKey(keys, p.id), value: version });
      continue;
    }
    const time = p.id.slice(0, ULID_TIME_LEN);
    if (run === undefined || time !== runTime) {
      run = [];
      runTime = time;
      ops.push({ op: 'set', key: `${keys.gen}${time}.${padVersion(version)}`, value: run });
    }
    run.push(p.id);
  }
  ops[2] = { op: 'set', key: keys.events + padVersion(v + n), value: Object.freeze(chunk) };
  return ops;
}

/** The frozen envelopes of a committed {@link appendBatch}, in version order. */
export function committedEvents(ops: readonly KvBatchOp[]): readonly StreamEvent[] {
  return chunkEvents((ops[2] as { value: ChunkValue }).value);
}

/**
 * Publishes committed events to the live view, in version order. Best effort:
 * a failure is logged, the commit stands.
 */
export async function publishCommitted(sink: LiveSink, streamId: StreamId, events: readonly StreamEvent[], log: Logger): Promise<void> {
  const stream = `${streamId.name}/${streamId.id}`;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    try {
      await sink.append({ stream, database: streamId.database, id: e.id, type: e.type, version: e.version, data: e.data, metadata: e.metadata });
    } catch (err) {
      // The stream commit stands; the live view is best effort and says so.
      log.error({ err, version: e.version }, 'live view publish failed');
    }
  }
}
