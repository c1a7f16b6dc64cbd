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
import { HttpError } from '../errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { AppendResult } from '../../store/types.js';
import { nextEventId } from '../../ids/event-id.js';
import type { MetricRecord, StreamRecord } from '../stores.js';
import { SharedCheckpoints } from './shared-checkpoints.js';
import { RingReplica } from './replica.js';

/** How long a publish retries through an outage, and an acknowledged append may take to be applied here, ms. */
const WRITE_TIMEOUT_MS = 30_000;
/** The checkpoint writer's lease: when the writing daemon dies, another takes over after this long, ms. */
const CHECKPOINT_CLAIM_MS = 30_000;

/** What the daemon needs to replicate its two ring stores. */
export interface ReplicationOptions {
  readonly servers: readonly string[];
  readonly streams: EventStore<StreamRecord>;
  readonly metrics: EventStore<MetricRecord>;
  /** JetStream replicas of the ring logs (R3 on a 3-node cluster). */
  readonly replicas: number;
  /** `--nats-checkpoint-every`: log messages between two shared checkpoints (0: this daemon writes none; undefined: capacity / 4). */
  readonly checkpointEvery: number | undefined;
  /** `--nats-checkpoint-min-ms`: at most one checkpoint per ring store in this many ms. */
  readonly checkpointMinMs: number;
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
  /**
   * Set once this daemon, running, fell behind a log by more than the log
   * keeps (retention dropped messages it had not applied): its ring store
   * differs from the other daemons' from then on, and `/ready` says so.
   */
  readonly gap: { readonly stream: string; readonly expected: number; readonly got: number } | undefined;
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
  let gap: RingReplication['gap'];
  try {
    checkServer(nc);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const common = {
      nc, js, jsm, replicas: o.replicas, writeTimeoutMs: WRITE_TIMEOUT_MS,
      checkpointEvery: o.checkpointEvery, checkpointMinMs: o.checkpointMinMs, checkpointClaimMs: CHECKPOINT_CLAIM_MS,
      onGap: (stream: string, expected: number, got: number) => {
        gap ??= { stream, expected, got };
      },
    };
    const checkpoints = async (name: string): Promise<SharedCheckpoints> => SharedCheckpoints.open({ nc, js, jsm, name, replicas: o.replicas, logger: logger.child({ store: name }) });
    const [sc, mc] = [await checkpoints('streams'), await checkpoints('metrics')];
    // Both settle before an error is thrown: one that opened is closed below, not left following its log.
    const [so, mo] = await Promise.allSettled([
      RingReplica.open<StreamRecord>({ ...common, name: 'streams', store: o.streams, checkpoints: sc, logger: logger.child({ store: 'streams' }) }),
      RingReplica.open<MetricRecord>({ ...common, name: 'metrics', store: o.metrics, checkpoints: mc, logger: logger.child({ store: 'metrics' }) }),
    ]);
    if (so.status === 'fulfilled') streams = so.value;
    if (mo.status === 'fulfilled') metrics = mo.value;
    if (so.status === 'rejected') throw so.reason;
    if (mo.status === 'rejected') throw mo.reason;
    [streams, metrics] = [so.value, mo.value];
  } catch (err) {
    await Promise.allSettled([streams?.close(), metrics?.close()]);
    await nc.close().catch(() => undefined);
    throw err;
  }
  const s = streams;
  const m = metrics;
  /** A gap on either log: nothing is published (a clear or purge would reach one log and not the other). */
  const refuseOnGap = (): void => {
    if (gap !== undefined) throw new HttpError('RS_ERR_REPLICATION_GAP', `this daemon fell behind the ring-store log ${gap.stream} by more than it keeps (messages ${gap.expected}..${gap.got - 1} were dropped before it applied them): it no longer applies the log, so it takes no writes; restart it`, { ...gap });
  };
  let closing: Promise<void> | undefined;
  return {
    get gap() {
      return gap;
    },
    async appendStreams(records, expectedVersion, ids, now) {
      refuseOnGap();
      const all = records.map((_, i) => ids?.[i] ?? nextEventId(now));
      return await s.append(records, expectedVersion, all);
    },
    async appendMetrics(records) {
      refuseOnGap();
      await m.append(records, undefined, undefined);
    },
    async clear() {
      refuseOnGap();
      const [a, b] = await Promise.all([s.clear(), m.clear()]);
      return a + b;
    },
    async purge(before) {
      refuseOnGap();
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
