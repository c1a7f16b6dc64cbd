/**
 * `ringstore serve --nats`: the `/streams` and `/metrics` ring stores on
 * JetStream. Each ring store has a JetStream stream (its log); a POST
 * publishes one message per append batch, and every daemon consumes the log
 * into its own in-memory partitions, so any daemon answers any query from
 * local memory. Design and limits: docs/jetstream.md ("Ring stores").
 * Loaded only under `--nats` (the NATS clients are optional dependencies).
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { RingstoreError } from '../../errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { AppendResult } from '../../store/types.js';
import { nextEventId } from '../../ids/event-id.js';
import type { MetricRecord, StreamRecord } from '../stores.js';
import { RingReplica } from './replica.js';

/** How long a publish retries through an outage, and an acknowledged append may take to be applied here, ms. */
const WRITE_TIMEOUT_MS = 30_000;

/** What the daemon needs to replicate its two ring stores. */
export interface ReplicationOptions {
  readonly servers: readonly string[];
  readonly streams: EventStore<StreamRecord>;
  readonly metrics: EventStore<MetricRecord>;
  readonly partitions: number;
  /** `--arena-bytes` (0 when derived from the capacity). */
  readonly arenaBytes: number;
  /** JetStream replicas of the ring logs (R3 on a 3-node cluster). */
  readonly replicas: number;
  readonly logger: Logger;
}

/** The replicated ring stores of one daemon. */
export interface RingReplication {
  /**
   * Appends a `/streams` batch (one key). Every event gets an id here (the
   * caller's, or a new ULID), so that every daemon stores the same ids.
   */
  appendStreams(records: readonly StreamRecord[], expectedVersion: number | undefined, ids: readonly (string | undefined)[] | undefined, now: number): Promise<AppendResult[]>;
  /** Appends a `/metrics` batch. */
  appendMetrics(records: readonly MetricRecord[]): Promise<void>;
  /** Clears both stores on every daemon; resolves with what was removed here. */
  clear(): Promise<number>;
  /** Purges both stores on every daemon; resolves with what was removed here. */
  purge(before: number): Promise<number>;
  /** Stops following the logs and closes the connection. */
  close(): Promise<void>;
}

/** Checks the server: JetStream, and 2.9 or later. */
function checkServer(nc: NatsConnection): void {
  const v = nc.info?.version ?? '0.0.0';
  const [major = 0, minor = 0] = v.split('.').map((p) => Number.parseInt(p, 10));
  if (!(major > 2 || (major === 2 && minor >= 9))) throw new RingstoreError('RS_ERR_INVALID_OPTION', `--nats needs nats-server 2.9 or later (connected to ${v})`);
  if (nc.info?.jetstream !== true) throw new RingstoreError('RS_ERR_INVALID_OPTION', '--nats needs a server with JetStream enabled (-js)');
}

/**
 * Connects, creates or checks both logs and replays them into the stores;
 * resolves once both are caught up (the daemon is ready then).
 */
export async function openReplication(o: ReplicationOptions): Promise<RingReplication> {
  const logger = o.logger.child({ replication: 'nats' });
  // noAsyncTraces: the client otherwise builds two Errors with stacks per request (profiled: about 100 µs a publish here).
  const nc = await connect({ servers: [...o.servers], maxReconnectAttempts: -1, name: 'ringstore-ring-stores', noAsyncTraces: true });
  let streams: RingReplica<StreamRecord> | undefined;
  let metrics: RingReplica<MetricRecord> | undefined;
  try {
    checkServer(nc);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const common = { nc, js, jsm, partitions: o.partitions, arenaBytes: o.arenaBytes, replicas: o.replicas, writeTimeoutMs: WRITE_TIMEOUT_MS };
    [streams, metrics] = await Promise.all([
      RingReplica.open<StreamRecord>({ ...common, name: 'streams', store: o.streams, logger: logger.child({ store: 'streams' }) }),
      RingReplica.open<MetricRecord>({ ...common, name: 'metrics', store: o.metrics, logger: logger.child({ store: 'metrics' }) }),
    ]);
  } catch (err) {
    await Promise.allSettled([streams?.close(), metrics?.close()]);
    await nc.close().catch(() => undefined);
    throw err;
  }
  const s = streams;
  const m = metrics;
  let closing: Promise<void> | undefined;
  return {
    appendStreams(records, expectedVersion, ids, now) {
      const all = records.map((_, i) => ids?.[i] ?? nextEventId(now));
      return s.append(records, expectedVersion, all);
    },
    async appendMetrics(records) {
      await m.append(records, undefined, undefined);
    },
    async clear() {
      const [a, b] = await Promise.all([s.clear(), m.clear()]);
      return a + b;
    },
    async purge(before) {
      const [a, b] = await Promise.all([s.purge(before), m.purge(before)]);
      return a + b;
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled([s.close(), m.close()]);
        await nc.drain().catch(() => nc.close());
      })();
      return closing;
    },
  };
}
